"""A server that refuses writes (full, or read-only mid-failover) gets 503s, never a 500."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import hiredis
import redis
from starlette.testclient import TestClient

from devtools.redis_server import RedisServer
from redirector.app import create_app
from redirector.pipeline import as_error
from shared.endpoint import RedisEndpoint
from shared.keys import Keys
from shared.settings import Settings
from shared.store import REDIS_UNAVAILABLE
from tests.support.password_support import store_link


def test_a_full_server_answers_503_with_retry_after(
    make_redis_server: Callable[..., RedisServer], app_settings: Settings, key_prefix: str
) -> None:
    server = make_redis_server()
    client = redis.Redis.from_url(server.url)
    client.hset(Keys(key_prefix).link("full1"), mapping={"t": "https://example.com/", "c": "1"})
    client.config_set("maxmemory", "1")
    settings = dataclasses.replace(app_settings, redis=RedisEndpoint.from_url(server.url))

    with TestClient(create_app(settings), follow_redirects=False) as http:
        response = http.get("/full1", headers={"Accept": "application/json"})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["status"] == 503


def test_a_json_password_body_nested_too_deep_or_not_utf8_is_a_400(
    redirector_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)
    bodies = [b"[" * 5000 + b"]" * 5000, b'{"password": "\xff"}', b"[1, 2]"]

    statuses = [
        redirector_client.post(
            f"/{code}", content=body, headers={"Content-Type": "application/json"}
        ).status_code
        for body in bodies
    ]

    assert statuses == [400, 400, 400]
    assert redis_sync.hget(Keys(key_prefix).link(code), "v") is None


def test_pipeline_maps_a_full_client_table_and_refused_writes_to_unavailable() -> None:
    replies = [
        "ERR max number of clients reached",
        "OOM command not allowed when used memory > 'maxmemory'.",
        "READONLY You can't write against a read only replica.",
    ]

    errors = [as_error(hiredis.ReplyError(reply)) for reply in replies]

    assert all(isinstance(error, REDIS_UNAVAILABLE) for error in errors)
    assert not isinstance(as_error(hiredis.ReplyError("ERR unknown command")), REDIS_UNAVAILABLE)
