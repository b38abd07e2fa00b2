"""A cluster that cannot be reached answers the contract's 503 on both services, never a 500."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from admin_api.app import create_app as create_admin
from devtools.redis_server import free_port
from redirector.app import create_app as create_redirector
from shared.endpoint import RedisEndpoint
from shared.settings import Settings
from tests.conftest import ADMIN_KEY


@pytest.fixture
def unreachable(app_settings: Settings) -> Settings:
    """Cluster mode pointed at a port nobody listens on."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    return dataclasses.replace(app_settings, redis=RedisEndpoint.from_url(url), redis_cluster=True)


def test_redirector_answers_503_for_a_link_and_for_readyz(unreachable: Settings) -> None:
    with TestClient(create_redirector(unreachable), follow_redirects=False) as client:
        link = client.get("/abc123", headers={"Accept": "application/json"})
        preview = client.get("/abc123", headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
        ready = client.get("/-/readyz")

    assert (link.status_code, link.json()["status"]) == (503, 503)
    assert link.headers["retry-after"] == "1"
    assert preview.status_code == 503
    assert ready.status_code == 503
    assert ready.json() == {
        "status": 503,
        "error": "Service Unavailable",
        "message": "Redis is not answering",
    }


def test_admin_api_answers_503_for_reads_writes_and_readyz(
    unreachable: Settings,
) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_admin(unreachable), headers=headers) as client:
        read = client.get("/api/v1/links/abc123")
        write = client.post("/api/v1/links", json={"targetUrl": "https://example.com/"})
        listing = client.get("/api/v1/links")
        ready = client.get("/-/readyz")

    assert [read.status_code, write.status_code, listing.status_code] == [503, 503, 503]
    assert write.json()["status"] == 503
    assert write.headers["retry-after"] == "1"
    assert ready.status_code == 503
