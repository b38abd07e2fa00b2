"""Fixtures every test folder may use: one real Redis server per session, a key prefix per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from devtools.redis_server import RedisServer
from shared.endpoint import RedisEndpoint
from shared.settings import Settings

TEST_REDIS_URL_VARIABLE = "SECURELINK_TEST_REDIS_URL"
ADMIN_KEY = "test-admin-key-0123456789abcdef"


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


@pytest.fixture
def app_settings(redis_url: str, key_prefix: str, tmp_path: Path) -> Settings:
    """Settings for in-process apps: the test server, this test's prefix, cheap hashing."""
    return Settings(
        redis=RedisEndpoint.from_url(redis_url),
        key_prefix=key_prefix,
        admin_key=ADMIN_KEY,
        public_base_url="http://sl.test",
        data_dir=tmp_path / "data",
        argon2_profile="test",
        hash_threads=1,
    )


@pytest.fixture
def admin_client(app_settings: Settings) -> Iterator[TestClient]:
    """The admin API in-process (lifespan run), sending the bootstrap key."""
    from admin_api.app import create_app

    app = create_app(app_settings)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(app, headers=headers) as client:
        yield client


@pytest.fixture
def redirector_client(app_settings: Settings) -> Iterator[TestClient]:
    """The redirector in-process on the same prefix as admin_client; redirects not followed."""
    from redirector.app import create_app

    with TestClient(create_app(app_settings), follow_redirects=False) as client:
        yield client
