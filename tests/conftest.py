"""Fixtures every test folder may use: one real Redis server per session, a key prefix per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from shared.redis_server import RedisServer

TEST_REDIS_URL_VARIABLE = "SECURELINK_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """The suite's own server on a free port; kill or restart it only in a private one."""
    with RedisServer(data_dir=tmp_path_factory.mktemp("redis"), appendonly=False) as server:
        yield server


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """$SECURELINK_TEST_REDIS_URL if set, else the URL of the suite's own server."""
    url = os.environ.get(TEST_REDIS_URL_VARIABLE)
    if url:
        return url
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture
def key_prefix() -> str:
    """A namespace of this test's own, so tests never see each other's keys."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def redis_sync(redis_url: str) -> Iterator[redis.Redis]:
    """A plain synchronous client (bytes in, bytes out) on the test server."""
    client = redis.Redis.from_url(redis_url, decode_responses=False)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def make_redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start private servers a test may kill, restart or stop; all are stopped afterwards."""
    servers: list[RedisServer] = []

    def make(
        *,
        appendonly: bool = False,
        appendfsync: str = "everysec",
        port: int | None = None,
        binary: str | None = None,
    ) -> RedisServer:
        server = RedisServer(
            data_dir=tmp_path / f"redis-{len(servers)}",
            appendonly=appendonly,
            appendfsync=appendfsync,
            port=port,
            binary=binary,
        )
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()
