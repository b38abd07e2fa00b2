"""/-/healthz, /-/readyz and /-/metrics answer the same way on both services."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from admin_api.app import create_app as create_admin
from devtools.redis_server import free_port
from redirector.app import create_app as create_redirector
from shared.endpoint import RedisEndpoint
from shared.settings import Settings

SERVICES = [
    pytest.param(create_admin, id="admin_api"),
    pytest.param(create_redirector, id="redirector"),
]
AppFactory = Callable[[Settings], Starlette]
REFUSED_SECONDS = 10.0


@pytest.mark.parametrize("create_app", SERVICES)
def test_healthz_and_readyz_answer_200_while_redis_answers(
    app_settings: Settings, create_app: AppFactory
) -> None:
    with TestClient(create_app(app_settings)) as client:
        health = client.get("/-/healthz")
        ready = client.get("/-/readyz")

    assert (health.status_code, health.text) == (200, "ok\n")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


@pytest.mark.parametrize("create_app", SERVICES)
def test_readyz_answers_503_at_once_while_redis_is_down(
    app_settings: Settings, create_app: AppFactory
) -> None:
    # A refused connection must answer, not the timeout: with a timeout of a minute, an answer
    # within REFUSED_SECONDS (thousands of times what a refusal takes) came from the refusal.
    settings = dataclasses.replace(
        app_settings,
        redis=RedisEndpoint.from_url(f"redis://127.0.0.1:{free_port()}/0"),
        redis_timeout_ms=60_000,
    )

    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        ready = client.get("/-/readyz")
        elapsed = time.monotonic() - started
        health = client.get("/-/healthz")

    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "1"
    assert ready.json() == {
        "status": 503,
        "error": "Service Unavailable",
        "message": "Redis is not answering",
    }
    assert elapsed < REFUSED_SECONDS
    assert health.status_code == 200


@pytest.mark.parametrize("create_app", SERVICES)
def test_metrics_are_prometheus_text(app_settings: Settings, create_app: AppFactory) -> None:
    with TestClient(create_app(app_settings)) as client:
        response = client.get("/-/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.text.startswith("# HELP securelink_")


def test_storage_failures_are_counted_by_kind_on_both_services(app_settings: Settings) -> None:
    down = dataclasses.replace(
        app_settings, redis=RedisEndpoint.from_url(f"redis://127.0.0.1:{free_port()}/0")
    )
    auth = {"Authorization": f"Bearer {app_settings.admin_key}"}

    with TestClient(create_admin(down)) as admin:
        created = admin.post(
            "/api/v1/links", json={"targetUrl": "https://a.example/"}, headers=auth
        )
        admin_metrics = admin.get("/-/metrics").text
    with TestClient(create_redirector(down), follow_redirects=False) as redirector:
        followed = redirector.get("/SomeCode12")
        redirector_metrics = redirector.get("/-/metrics").text

    assert (created.status_code, followed.status_code) == (503, 503)
    assert 'securelink_redis_errors_total{kind="ConnectionError",service="admin_api"} 1.0' in (
        admin_metrics
    )
    assert 'securelink_redis_errors_total{kind="ConnectionError",service="redirector"} 1.0' in (
        redirector_metrics
    )
    assert 'securelink_resolutions_total{outcome="unavailable",service="redirector"} 1.0' in (
        redirector_metrics
    )
    assert (
        'securelink_request_duration_seconds_count{route="/api/v1/links",service="admin_api",'
        'status="503"} 1.0' in admin_metrics
    )
