"""SCRIPT FLUSH between two requests: the redirector reloads the script and counts once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import redis
from starlette.testclient import TestClient

from admin_api.app import create_app as create_admin
from devtools.redis_server import RedisServer
from redirector.app import create_app as create_redirector
from shared.endpoint import RedisEndpoint
from shared.settings import Settings
from tests.conftest import ADMIN_KEY


def test_flushed_script_cache_is_reloaded_by_the_next_request(
    make_redis_server: Callable[..., RedisServer], app_settings: Settings
) -> None:
    server = make_redis_server()  # SCRIPT FLUSH only on a server of this test's own
    private = dataclasses.replace(app_settings, redis=RedisEndpoint.from_url(server.url))
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    flusher = redis.Redis.from_url(server.url)
    with (
        TestClient(create_admin(private), headers=headers) as admin,
        TestClient(create_redirector(private), follow_redirects=False) as redirector,
    ):
        created = admin.post("/api/v1/links", json={"targetUrl": "https://e.com/", "maxViews": 5})
        code = created.json()["shortCode"]
        first = redirector.get(f"/{code}")
        flusher.script_flush()

        second = redirector.get(f"/{code}")
        views = admin.get(f"/api/v1/links/{code}").json()["views"]
    flusher.close()

    assert (first.status_code, second.status_code) == (302, 302)
    assert views == 2
