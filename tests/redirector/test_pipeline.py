"""The auto-pipelining script client: batching, per-call results and errors, and its faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import hiredis
import pytest
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from devtools.redis_server import RedisServer
from redirector.pipeline import PipelineFull, ScriptPipeline, pack
from shared.endpoint import RedisEndpoint
from shared.scripts import load_scripts
from shared.store import REDIS_UNAVAILABLE
from tests.support.waiting import wait_until_async

SCRIPTS = load_scripts()
COUNT = [0, "60"]  # resolve_link: count one view, retention 60 s


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def make_links(client: redis.Redis, prefix: str, count: int) -> list[str]:
    keys = [f"{prefix}:link:{{code{i}}}" for i in range(count)]
    for i, key in enumerate(keys):
        client.hset(key, mapping={"t": f"https://example.com/{i}"})
    return keys


class FakeRedis:
    """A socket server speaking just enough RESP to misbehave on purpose."""

    def __init__(self, answer: Callable[[list[bytes]], bytes | None]) -> None:
        self.answer = answer
        self.commands: list[list[bytes]] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> FakeRedis:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        parser = hiredis.Reader()
        try:
            while data := await reader.read(65536):
                parser.feed(data)
                while (command := parser.gets()) is not False:
                    self.commands.append(command)
                    reply = self.answer(command)
                    if reply is None:
                        writer.close()
                        return
                    writer.write(reply)
        finally:
            writer.close()


def test_concurrent_calls_leave_in_one_write_and_get_their_own_replies(
    redis_url: str, redis_sync: redis.Redis, key_prefix: str
) -> None:
    keys = make_links(redis_sync, key_prefix, 50)

    async def scenario() -> tuple[list[Any], int]:
        pipeline = ScriptPipeline(RedisEndpoint.from_url(redis_url), SCRIPTS, timeout=1.0)
        await pipeline.run("resolve_link", [keys[0]], [1, "60"])  # connect, load the script
        before = pipeline.writes
        replies = await asyncio.gather(*(pipeline.run("resolve_link", [k], COUNT) for k in keys))
        writes = pipeline.writes - before
        await pipeline.aclose()
        return replies, writes

    replies, writes = run(scenario())

    assert writes == 1
    assert [reply[:2] for reply in replies] == [
        [0, f"https://example.com/{i}".encode()] for i in range(50)
    ]
    assert [redis_sync.hget(key, "v") for key in keys] == [b"1"] * 50


def test_batches_are_bounded(redis_url: str, redis_sync: redis.Redis, key_prefix: str) -> None:
    keys = make_links(redis_sync, key_prefix, 25)

    async def scenario() -> int:
        pipeline = ScriptPipeline(
            RedisEndpoint.from_url(redis_url), SCRIPTS, timeout=1.0, max_batch=10
        )
        await pipeline.run("resolve_link", [keys[0]], [1, "60"])
        before = pipeline.writes
        await asyncio.gather(*(pipeline.run("resolve_link", [k], COUNT) for k in keys))
        writes = pipeline.writes - before
        await pipeline.aclose()
        return writes

    assert run(scenario()) == 3


def test_a_lone_call_completes_without_any_timer(
    redis_url: str, redis_sync: redis.Redis, key_prefix: str
) -> None:
    [key] = make_links(redis_sync, key_prefix, 1)

    async def scenario() -> Any:
        loop = asyncio.get_running_loop()
        pipeline = ScriptPipeline(RedisEndpoint.from_url(redis_url), SCRIPTS, timeout=5.0)
        await pipeline.run("resolve_link", [key], [1, "60"])
        timers: list[float] = []

        def no_timer(delay: float, *args: Any) -> asyncio.TimerHandle:
            timers.append(delay)
            return asyncio.TimerHandle(loop.time() + delay, lambda: None, (), loop)

        loop.call_later = no_timer  # type: ignore[method-assign,assignment]
        async with asyncio.timeout(1.0):  # asyncio.timeout uses call_at, which still works
            reply = await pipeline.run("resolve_link", [key], COUNT)
        await pipeline.aclose()
        return reply, timers

    reply, timers = run(scenario())

    assert reply[:2] == [0, b"https://example.com/0"]
    assert timers == [5.0]  # only the watchdog for a late reply, which never fired


def test_an_error_reply_fails_only_its_own_call(
    redis_url: str, redis_sync: redis.Redis, key_prefix: str
) -> None:
    keys = make_links(redis_sync, key_prefix, 2)
    wrong_type = f"{key_prefix}:link:{{broken}}"
    redis_sync.set(wrong_type, "not a hash")

    async def scenario() -> list[Any]:
        pipeline = ScriptPipeline(RedisEndpoint.from_url(redis_url), SCRIPTS, timeout=1.0)
        calls = [pipeline.run("resolve_link", [k], COUNT) for k in (keys[0], wrong_type, keys[1])]
        results = await asyncio.gather(*calls, return_exceptions=True)
        await pipeline.aclose()
        return results

    first, broken, last = run(scenario())

    assert first[:2] == [0, b"https://example.com/0"]
    assert last[:2] == [0, b"https://example.com/1"]
    assert isinstance(broken, ResponseError)
    assert "WRONGTYPE" in str(broken)


def test_noscript_after_script_flush_is_recovered_and_counts_once(
    make_redis_server: Callable[..., RedisServer],
) -> None:
    server = make_redis_server()
    client = redis.Redis.from_url(server.url)
    keys = make_links(client, "p", 5)

    async def scenario() -> list[Any]:
        pipeline = ScriptPipeline(RedisEndpoint.from_url(server.url), SCRIPTS, timeout=1.0)
        await pipeline.run("resolve_link", [keys[0]], [1, "60"])
        client.script_flush()
        replies = await asyncio.gather(*(pipeline.run("resolve_link", [k], COUNT) for k in keys))
        await pipeline.aclose()
        return replies

    replies = run(scenario())

    assert [reply[0] for reply in replies] == [0] * 5
    assert [client.hget(key, "v") for key in keys] == [b"1"] * 5
    client.close()


def test_a_server_restart_is_survived(make_redis_server: Callable[..., RedisServer]) -> None:
    server = make_redis_server()
    client = redis.Redis.from_url(server.url)
    [key] = make_links(client, "p", 1)

    async def scenario() -> Any:
        pipeline = ScriptPipeline(RedisEndpoint.from_url(server.url), SCRIPTS, timeout=1.0)
        await pipeline.run("resolve_link", [key], [1, "60"])
        await asyncio.to_thread(server.restart)  # the link is gone: no AOF, no RDB
        await wait_until_async(lambda: pipeline._connection is None)  # the loop saw the close
        reply = await pipeline.run("resolve_link", [key], COUNT)
        await pipeline.aclose()
        return reply

    assert run(scenario()) == [1]
    client.close()


def test_a_dropped_connection_fails_every_call_in_flight_and_resends_none() -> None:
    async def scenario() -> tuple[list[Any], FakeRedis, Any]:
        state = {"drop": True}

        def answer(command: list[bytes]) -> bytes | None:
            if state["drop"]:
                return b"" if len(fake.commands) < 3 else None  # read three, then hang up
            return b"*1\r\n:0\r\n"

        async with FakeRedis(answer) as fake:
            pipeline = ScriptPipeline(RedisEndpoint.from_url(fake.url), SCRIPTS, timeout=1.0)
            results = await asyncio.gather(
                *(pipeline.run("resolve_link", [f"k{i}"], COUNT) for i in range(3)),
                return_exceptions=True,
            )
            state["drop"] = False
            after = await pipeline.run("resolve_link", ["k9"], COUNT)
            await pipeline.aclose()
        return results, fake, after

    results, fake, after = run(scenario())

    assert all(isinstance(result, RedisConnectionError) for result in results)
    assert str(results[0]) == "Connection to Redis lost; the command may have run"
    assert [command[3] for command in fake.commands] == [b"k0", b"k1", b"k2", b"k9"]
    assert fake.connections == 2
    assert after == [0]


def test_a_late_reply_times_out_and_the_next_call_reconnects() -> None:
    async def scenario() -> tuple[Any, Any, FakeRedis]:
        def answer(command: list[bytes]) -> bytes:
            return b"" if command[3] == b"slow" else b"*1\r\n:0\r\n"

        async with FakeRedis(answer) as fake:
            # Long enough for the fast reply on a busy machine: only the slow one must time out.
            pipeline = ScriptPipeline(RedisEndpoint.from_url(fake.url), SCRIPTS, timeout=1.0)
            late = await asyncio.gather(
                pipeline.run("resolve_link", ["slow"], COUNT), return_exceptions=True
            )
            after = await pipeline.run("resolve_link", ["fast"], COUNT)
            await pipeline.aclose()
        return late[0], after, fake

    late, after, fake = run(scenario())

    assert isinstance(late, RedisTimeoutError)
    assert isinstance(late, REDIS_UNAVAILABLE)
    assert after == [0]
    assert fake.connections == 2


def test_too_many_waiting_calls_fail_fast_as_unavailable() -> None:
    async def scenario() -> BaseException | None:
        async with FakeRedis(lambda command: b"") as fake:
            pipeline = ScriptPipeline(
                RedisEndpoint.from_url(fake.url), SCRIPTS, timeout=0.2, max_pending=2
            )
            waiting = [pipeline.run("resolve_link", [f"k{i}"], COUNT) for i in range(2)]
            refused = pipeline.run("resolve_link", ["k3"], COUNT)
            error = refused.exception()
            await asyncio.gather(*waiting, return_exceptions=True)
            await pipeline.aclose()
        return error

    error = run(scenario())

    assert isinstance(error, PipelineFull)
    assert isinstance(error, REDIS_UNAVAILABLE)


def test_a_caller_that_gave_up_before_the_write_sends_nothing() -> None:
    async def scenario() -> FakeRedis:
        async with FakeRedis(lambda command: b"*1\r\n:0\r\n") as fake:
            pipeline = ScriptPipeline(RedisEndpoint.from_url(fake.url), SCRIPTS, timeout=1.0)
            await pipeline.run("resolve_link", ["warm"], COUNT)
            pipeline.run("resolve_link", ["cancelled"], COUNT).cancel()
            await pipeline.run("resolve_link", ["kept"], COUNT)
            await pipeline.aclose()
        return fake

    fake = run(scenario())

    assert [command[3] for command in fake.commands] == [b"warm", b"kept"]


def test_an_unreachable_server_fails_calls_as_unavailable() -> None:
    async def scenario() -> BaseException | None:
        async with FakeRedis(lambda command: b"") as fake:
            url = fake.url
        pipeline = ScriptPipeline(RedisEndpoint.from_url(url), SCRIPTS, timeout=0.5)
        results = await asyncio.gather(
            pipeline.run("resolve_link", ["k"], COUNT), return_exceptions=True
        )
        await pipeline.aclose()
        return results[0]

    error = run(scenario())

    assert isinstance(error, RedisConnectionError)
    assert str(error).startswith("Error connecting to Redis")


def test_credentials_and_database_from_the_url_are_sent_first() -> None:
    def answer(command: list[bytes]) -> bytes:
        return b"+OK\r\n" if command[0] in (b"AUTH", b"SELECT") else b"*1\r\n:0\r\n"

    async def scenario() -> FakeRedis:
        async with FakeRedis(answer) as fake:
            url = fake.url.replace("redis://", "redis://app:p%40ss@").replace("/0", "/3")
            pipeline = ScriptPipeline(RedisEndpoint.from_url(url), SCRIPTS, timeout=1.0)
            await pipeline.run("resolve_link", ["k"], COUNT)
            await pipeline.aclose()
        return fake

    fake = run(scenario())

    assert fake.commands[:2] == [[b"AUTH", b"app", b"p@ss"], [b"SELECT", b"3"]]


def test_a_wrong_password_fails_calls_as_unavailable() -> None:
    def answer(command: list[bytes]) -> bytes:
        return b"-WRONGPASS invalid username-password pair\r\n"

    async def scenario() -> BaseException:
        async with FakeRedis(answer) as fake:
            url = fake.url.replace("redis://", "redis://:nope@")
            pipeline = ScriptPipeline(RedisEndpoint.from_url(url), SCRIPTS, timeout=1.0)
            results = await asyncio.gather(
                pipeline.run("resolve_link", ["k"], COUNT), return_exceptions=True
            )
            await pipeline.aclose()
        return results[0]

    error = run(scenario())

    assert isinstance(error, redis.exceptions.AuthenticationError)
    assert isinstance(error, REDIS_UNAVAILABLE)


def test_pack_writes_resp_arrays() -> None:
    assert (
        pack("EVALSHA", b"ab", 1, "k")
        == b"*4\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$1\r\nk\r\n"
    )


def test_evalsha_is_packed_as_resp_with_the_arguments_kept_encoded() -> None:
    scripts = load_scripts()
    pipeline = ScriptPipeline(RedisEndpoint.from_url("redis://127.0.0.1:1"), scripts, timeout=1)
    script = scripts["resolve_link"]
    keys = ["sl:link:{abcd1234}", "sl:stats:{abcd1234}", b"raw"]
    args: list[Any] = [0, "604800", "", "news.example", "d", True, 1.5, b"x", "ünï"]

    first = pipeline._evalsha(script, keys, args)
    again = pipeline._evalsha(script, keys, [*args[:3], "other.example", *args[4:]])

    assert first == pack("EVALSHA", script.sha, 3, *keys, *args)
    assert again == pack("EVALSHA", script.sha, 3, *keys, *args[:3], "other.example", *args[4:])
    assert pipeline._evalsha(script, keys, [1, "1", False]).endswith(
        b"$1\r\n1\r\n$1\r\n1\r\n$1\r\n0\r\n"
    )


@pytest.mark.parametrize("reply", [b"-ERR boom\r\n", b"-SOMETHING else\r\n"])
def test_unknown_error_replies_become_response_errors(reply: bytes) -> None:
    async def scenario() -> BaseException:
        async with FakeRedis(lambda command: reply) as fake:
            pipeline = ScriptPipeline(RedisEndpoint.from_url(fake.url), SCRIPTS, timeout=1.0)
            results = await asyncio.gather(
                pipeline.run("resolve_link", ["k"], COUNT), return_exceptions=True
            )
            await pipeline.aclose()
        return results[0]

    error = run(scenario())

    assert type(error) is ResponseError
    assert str(error) == reply[1:-2].decode()
