"""A counting script whose reply is lost is never sent again, so no view is counted twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

from shared.keys import Keys
from shared.models import Field
from shared.redis_server import RedisServer
from shared.scripts import ResolveMode, ResolveStatus, ScriptRunner, load_scripts
from shared.settings import Settings
from shared.store import UNAVAILABLE, connect
from tests.faultproxy import FaultProxy

RETENTION = "60"


@pytest.fixture
def proxy(redis_server: RedisServer) -> Iterator[FaultProxy]:
    with FaultProxy(redis_server.host, redis_server.port, seed=5) as proxy:
        yield proxy


def make_link(client: redis.Redis, key: str, max_views: int | None = None) -> None:
    fields = {Field.TARGET: "https://example.com/a", Field.CREATED: "1"}
    if max_views is not None:
        fields[Field.MAX_VIEWS] = str(max_views)
    client.hset(key, mapping=fields)
    client.expire(key, 600)


def views(client: redis.Redis, key: str) -> int:
    return int(client.hget(key, Field.VIEWS) or 0)


async def run_resolve(client: Any, key: str, mode: ResolveMode = ResolveMode.COUNT) -> Any:
    runner = ScriptRunner(client, load_scripts())
    return await runner.run("resolve_link", [key], [int(mode), RETENTION])


async def prime(client: Any, key: str, proxy: FaultProxy) -> int:
    """Connect and load the script (a NOSCRIPT reply must not be the one dropped)."""
    await run_resolve(client, key, ResolveMode.PEEK)
    return proxy.evalsha_count()


def run_with(client: Any, action: Callable[[Any], Any]) -> Any:
    async def main() -> Any:
        try:
            return await action(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_lost_reply_to_a_counting_script_counts_the_view_once(
    proxy: FaultProxy, redis_sync: redis.Redis, key_prefix: str
) -> None:
    key = Keys(key_prefix).link("lost1")
    make_link(redis_sync, key)
    client = connect(Settings(redis_url=proxy.url))

    async def act(client: Any) -> tuple[BaseException | None, int]:
        sent_before = await prime(client, key, proxy)
        proxy.drop_next_replies(1)
        try:
            await run_resolve(client, key)
        except UNAVAILABLE as error:
            return error, proxy.evalsha_count() - sent_before
        return None, proxy.evalsha_count() - sent_before

    error, sent = run_with(client, act)

    assert isinstance(error, redis.ConnectionError)
    assert proxy.replies_dropped == 1
    assert sent == 1
    assert views(redis_sync, key) == 1


def test_redis_py_default_client_would_resend_the_script_and_count_twice(
    proxy: FaultProxy, redis_sync: redis.Redis, key_prefix: str
) -> None:
    """Why connect() turns retries off: redis-py's own default re-sends after a lost reply."""
    key = Keys(key_prefix).link("lost2")
    make_link(redis_sync, key)
    client = redis.asyncio.Redis(host=proxy.host, port=proxy.port)

    async def act(client: Any) -> tuple[Any, int]:
        sent_before = await prime(client, key, proxy)
        proxy.drop_next_replies(1)
        reply = await run_resolve(client, key)
        return reply, proxy.evalsha_count() - sent_before

    reply, sent = run_with(client, act)

    assert reply[0] == ResolveStatus.OK
    assert sent == 2
    assert views(redis_sync, key) == 2


def test_view_limit_holds_when_replies_are_lost_under_concurrent_load(
    proxy: FaultProxy, redis_sync: redis.Redis, key_prefix: str
) -> None:
    key = Keys(key_prefix).link("lost3")
    make_link(redis_sync, key, max_views=40)
    client = connect(Settings(redis_url=proxy.url, redis_timeout_ms=2000))

    async def one(client: Any) -> str:
        try:
            reply = await run_resolve(client, key)
        except UNAVAILABLE:
            return "unavailable"
        return ResolveStatus(reply[0]).name

    async def act(client: Any) -> list[str]:
        sent_before.append(await prime(client, key, proxy))
        proxy.drop_replies(0.3)
        return list(await asyncio.gather(*(one(client) for _ in range(150))))

    sent_before: list[int] = []
    outcomes = run_with(client, act)
    proxy.forward()

    served, lost = outcomes.count("OK"), outcomes.count("unavailable")
    counted = views(redis_sync, key)
    assert set(outcomes) <= {"OK", "EXHAUSTED", "unavailable"}
    assert lost > 0 and served > 0
    assert counted <= 40
    assert served <= counted <= served + lost
    assert proxy.evalsha_count() - sent_before[0] <= 150  # sent once at most, never resent


def test_pooled_connections_reconnect_before_sending_after_a_restart(
    make_redis_server: Callable[..., RedisServer], key_prefix: str
) -> None:
    server = make_redis_server()
    key = Keys(key_prefix).link("restart1")
    client = connect(Settings(redis_url=server.url))

    async def act(client: Any) -> list[Any]:
        await asyncio.gather(*(client.ping() for _ in range(5)))  # five pooled connections
        await asyncio.to_thread(server.restart)
        await asyncio.sleep(0.05)  # the loop sees the old sockets close
        await client.hset(key, mapping={Field.TARGET: "https://example.com/a"})
        return list(await asyncio.gather(*(run_resolve(client, key) for _ in range(5))))

    replies = run_with(client, act)

    assert [reply[0] for reply in replies] == [ResolveStatus.OK] * 5
    with redis.Redis(host=server.host, port=server.port) as check:
        assert views(check, key) == 5
