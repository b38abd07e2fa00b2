"""A counting script whose reply is lost is never sent again, so no view is counted twice.

Each test runs against both ways the services call scripts: shared.store's pooled redis-py
client (admin API, password checks) and the redirector's pipelined connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Protocol, cast

import pytest
import redis
import redis.asyncio
from redis.typing import EncodableT, FieldT

from devtools.redis_server import RedisServer
from shared.endpoint import RedisEndpoint
from shared.keys import Keys
from shared.models import Field
from shared.scripts import ResolveMode, ResolveStatus, ScriptClient, ScriptRunner, load_scripts
from shared.settings import Settings
from shared.store import REDIS_UNAVAILABLE, connect
from tests.support.faultproxy import FaultProxy
from tests.support.waiting import wait_until_async

RETENTION = "60"
HANG_SECONDS = 10.0


class Runner(Protocol):
    def run(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Awaitable[Any]: ...

    async def aclose(self) -> None: ...


class PooledRunner:
    """shared.store.connect() and ScriptRunner, as the admin API uses them."""

    def __init__(self, url: str, timeout_ms: int) -> None:
        self.client = connect(
            Settings(redis=RedisEndpoint.from_url(url), redis_timeout_ms=timeout_ms)
        )
        self.runner = ScriptRunner(self.client, load_scripts())

    def run(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Awaitable[Any]:
        return self.runner.run(name, keys, args)

    async def aclose(self) -> None:
        await self.client.aclose()


def pipelined_runner(url: str, timeout_ms: int) -> Runner:
    pipeline = pytest.importorskip("redirector.pipeline")
    runner: Runner = pipeline.ScriptPipeline(
        RedisEndpoint.from_url(url), load_scripts(), timeout=timeout_ms / 1000
    )
    return runner


RUNNERS: dict[str, Callable[[str, int], Runner]] = {
    "pooled": PooledRunner,
    "pipelined": pipelined_runner,
}


@pytest.fixture(params=sorted(RUNNERS))
def make_runner(request: pytest.FixtureRequest) -> Callable[[str, int], Runner]:
    return RUNNERS[request.param]


@pytest.fixture
def proxy(redis_server: RedisServer) -> Iterator[FaultProxy]:
    with FaultProxy(redis_server.host, redis_server.port, seed=5) as proxy:
        yield proxy


def make_link(client: redis.Redis, key: str, max_views: int | None = None) -> None:
    fields: dict[FieldT, EncodableT] = {Field.TARGET: "https://example.com/a", Field.CREATED: "1"}
    if max_views is not None:
        fields[Field.MAX_VIEWS] = str(max_views)
    client.hset(key, mapping=fields)
    client.expire(key, 600)


def views(client: redis.Redis, key: str) -> int:
    return int(client.hget(key, Field.VIEWS) or 0)


async def resolve(runner: Runner, key: str, mode: ResolveMode = ResolveMode.COUNT) -> Any:
    return await runner.run("resolve_link", [key], [int(mode), RETENTION])


async def outcome(runner: Runner, key: str) -> str:
    try:
        reply = await resolve(runner, key)
    except REDIS_UNAVAILABLE:
        return "unavailable"
    return ResolveStatus(reply[0]).name


async def prime(runner: Runner, key: str, proxy: FaultProxy) -> int:
    """Connect and load the script (a NOSCRIPT reply must not be the one dropped)."""
    await resolve(runner, key, ResolveMode.PEEK)
    return proxy.evalsha_count()


def saw_the_close(runner: Runner) -> bool:
    """Whether the runner let go of its connection to a stopped server. The pipeline learns it
    on the loop (a counting call written to a dead socket could not be resent); the pool checks
    a connection when it hands it out, so it has nothing to learn beforehand."""
    if isinstance(runner, PooledRunner):
        return True
    return getattr(runner, "_connection", None) is None


def run_with(runner: Runner, action: Callable[[Runner], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        try:
            return await action(runner)
        finally:
            await runner.aclose()

    return asyncio.run(main())


def test_lost_reply_to_a_counting_script_counts_the_view_once(
    make_runner: Callable[[str, int], Runner],
    proxy: FaultProxy,
    redis_sync: redis.Redis,
    key_prefix: str,
) -> None:
    key = Keys(key_prefix).link("lost1")
    make_link(redis_sync, key)

    async def act(runner: Runner) -> tuple[str, int]:
        sent_before = await prime(runner, key, proxy)
        proxy.drop_next_replies(1)
        result = await outcome(runner, key)
        return result, proxy.evalsha_count() - sent_before

    result, sent = run_with(make_runner(proxy.url, 500), act)

    assert result == "unavailable"
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
    runner = ScriptRunner(cast(ScriptClient, client), load_scripts())

    async def act() -> tuple[Any, int]:
        try:
            await runner.run("resolve_link", [key], [int(ResolveMode.PEEK), RETENTION])
            sent_before = proxy.evalsha_count()
            proxy.drop_next_replies(1)
            reply = await runner.run("resolve_link", [key], [int(ResolveMode.COUNT), RETENTION])
            return reply, proxy.evalsha_count() - sent_before
        finally:
            await client.aclose()

    reply, sent = asyncio.run(act())

    assert reply[0] == ResolveStatus.OK
    assert sent == 2
    assert views(redis_sync, key) == 2


def test_view_limit_holds_when_replies_are_lost_under_concurrent_load(
    make_runner: Callable[[str, int], Runner],
    proxy: FaultProxy,
    redis_sync: redis.Redis,
    key_prefix: str,
) -> None:
    key = Keys(key_prefix).link("lost3")
    make_link(redis_sync, key, max_views=40)

    async def act(runner: Runner) -> tuple[list[str], int]:
        sent_before = await prime(runner, key, proxy)
        proxy.drop_replies(0.3)
        outcomes: list[str] = []
        for _ in range(10):
            outcomes += await asyncio.gather(*(outcome(runner, key) for _ in range(15)))
        proxy.forward()
        return outcomes, proxy.evalsha_count() - sent_before

    outcomes, sent = run_with(make_runner(proxy.url, 2000), act)

    served, lost = outcomes.count("OK"), outcomes.count("unavailable")
    counted = views(redis_sync, key)
    assert set(outcomes) <= {"OK", "EXHAUSTED", "unavailable"}
    assert lost > 0 and served > 0
    assert counted <= 40
    assert served <= counted <= served + lost
    assert sent <= 150  # each call sent once at most, never again


def test_stalled_redis_fails_calls_within_the_timeout_then_recovers(
    make_runner: Callable[[str, int], Runner],
    proxy: FaultProxy,
    redis_sync: redis.Redis,
    key_prefix: str,
) -> None:
    key = Keys(key_prefix).link("stall1")
    make_link(redis_sync, key)

    async def act(runner: Runner) -> tuple[list[str], float, str]:
        await prime(runner, key, proxy)
        proxy.pause()
        started = time.monotonic()
        try:
            stalled = list(await asyncio.gather(*(outcome(runner, key) for _ in range(5))))
            stalled.append(await outcome(runner, key))  # a second round, on a new connection
        finally:
            proxy.resume()
        elapsed = time.monotonic() - started
        return stalled, elapsed, await outcome(runner, key)

    stalled, elapsed, after = run_with(make_runner(proxy.url, 300), act)

    assert stalled == ["unavailable"] * 6
    # Each round was ended by the 0.3 s timeout, not by luck, and nothing waited for longer
    # than a hang would take (HANG_SECONDS, far above both rounds on the busiest machine).
    assert 2 * 0.3 <= elapsed < 2 * 0.3 + HANG_SECONDS
    assert after == "OK"


def test_connections_reconnect_before_sending_after_a_restart(
    make_runner: Callable[[str, int], Runner],
    make_redis_server: Callable[..., RedisServer],
    key_prefix: str,
) -> None:
    server = make_redis_server()
    key = Keys(key_prefix).link("restart1")
    with redis.Redis(host=server.host, port=server.port) as admin:
        make_link(admin, key)

    async def act(runner: Runner) -> list[str]:
        await asyncio.gather(*(resolve(runner, key, ResolveMode.PEEK) for _ in range(5)))
        await asyncio.to_thread(server.stop)
        await wait_until_async(lambda: saw_the_close(runner))
        await asyncio.to_thread(server.restart)
        with redis.Redis(host=server.host, port=server.port) as admin:
            make_link(admin, key)  # the server had no append-only file
        return list(await asyncio.gather(*(outcome(runner, key) for _ in range(5))))

    outcomes = run_with(make_runner(server.url, 500), act)

    assert outcomes == ["OK"] * 5
    with redis.Redis(host=server.host, port=server.port) as check:
        assert views(check, key) == 5
