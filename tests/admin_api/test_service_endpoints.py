"""/-/healthz, /-/readyz (503 while Redis is down), /-/metrics and /openapi.json."""

from __future__ import annotations

import dataclasses
import time

from starlette.testclient import TestClient

from admin_api.app import create_app
from shared.redis_server import free_port
from shared.settings import Settings


def test_healthz_answers_while_the_process_runs(admin_client: TestClient) -> None:
    response = admin_client.get("/-/healthz")

    assert response.status_code == 200


def test_readyz_answers_200_when_redis_answers(admin_client: TestClient) -> None:
    response = admin_client.get("/-/readyz")

    assert response.status_code == 200


def test_readyz_answers_503_quickly_when_redis_is_down(app_settings: Settings) -> None:
    settings = dataclasses.replace(app_settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")

    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.get("/-/readyz")
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {
        "status": 503,
        "error": "Service Unavailable",
        "message": "Redis is not answering",
    }
    assert elapsed < 1


def test_metrics_are_prometheus_text(admin_client: TestClient) -> None:
    response = admin_client.get("/-/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE securelink_links_created_total counter\n" in response.text


def test_metrics_count_created_links(admin_client: TestClient) -> None:
    for _ in range(2):
        admin_client.post("/api/v1/links", json={"targetUrl": "https://example.com/"})
    admin_client.post("/api/v1/links", json={"targetUrl": ""})

    text = admin_client.get("/-/metrics").text

    assert 'securelink_links_created_total{service="admin_api",kind="url"} 2\n' in text


def test_openapi_document_describes_the_link_routes(admin_client: TestClient) -> None:
    document = admin_client.get("/openapi.json").json()

    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) >= {
        "/api/v1/links",
        "/api/v1/links/batch",
        "/api/v1/links/{code}",
        "/api/v1/links/{code}/revoke",
    }
    assert set(document["paths"]["/api/v1/links"]) >= {"get", "post"}
    schemas = document["components"]["schemas"]
    assert set(schemas["CreateLinkRequestDto"]["properties"]) == {
        "targetUrl",
        "expiresAt",
        "maxViews",
        "password",
        "customCode",
    }
