"""The connection pool waits for a free connection, bounded by the Redis timeout, not refusing."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.settings import Settings
from shared.store import POOL_SIZE, connect


def test_more_concurrent_commands_than_connections_all_succeed(app_settings: Settings) -> None:
    async def run() -> list[object]:
        client = connect(app_settings, max_connections=4)
        try:
            answers: list[object] = await asyncio.gather(*[client.ping() for _ in range(200)])
            return answers
        finally:
            await client.aclose()

    replies = asyncio.run(run())

    assert replies == [True] * 200


def test_a_pool_used_up_past_the_timeout_fails_as_a_connection_error(
    app_settings: Settings,
) -> None:
    settings = dataclasses.replace(app_settings, redis_timeout_ms=100)

    async def run() -> None:
        client = connect(settings, max_connections=1)
        try:
            held = await client.connection_pool.get_connection()  # the one connection, in use
            with pytest.raises(RedisConnectionError, match="No connection available"):
                await client.ping()
            await client.connection_pool.release(held)
            assert await client.ping() is True
        finally:
            await client.aclose()

    asyncio.run(run())


def test_the_default_pool_is_bigger_than_redis_pys_100(app_settings: Settings) -> None:
    client = connect(app_settings)

    pool = client.connection_pool

    assert pool.max_connections == POOL_SIZE > 100
    assert pool.timeout == app_settings.redis_timeout_ms / 1000
    asyncio.run(client.aclose())
