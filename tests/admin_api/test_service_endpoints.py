"""The admin API's /-/metrics counters and /openapi.json (health: tests/shared/test_health.py)."""

from __future__ import annotations

from starlette.testclient import TestClient


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

    assert 'securelink_links_created_total{kind="url",service="admin_api"} 2.0\n' in text


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
        "tags",
        "clickToOpen",
    }
