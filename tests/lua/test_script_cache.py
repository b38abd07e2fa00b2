"""EVALSHA with a reload on NOSCRIPT: a flushed cache costs one EVAL, never a double count."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import redis

from devtools.redis_server import RedisServer
from shared.endpoint import RedisEndpoint
from shared.keys import Keys
from shared.scripts import ResolveMode, ResolveStatus, ScriptRunner, load_scripts
from shared.settings import Settings
from shared.store import connect


def _resolve_twice_around_a_flush(url: str, key: str) -> tuple[list[object], list[object]]:
    async def scenario() -> tuple[list[object], list[object]]:
        client = connect(Settings(redis=RedisEndpoint.from_url(url)))
        runner = ScriptRunner(client, load_scripts())
        try:
            first = await runner.run("resolve_link", [key], [int(ResolveMode.COUNT), 60])
            await client.script_flush()
            second = await runner.run("resolve_link", [key], [int(ResolveMode.COUNT), 60])
        finally:
            await client.aclose()
        return first, second

    return asyncio.run(scenario())


def test_flushed_script_is_reloaded_and_counts_once(
    make_redis_server: Callable[..., RedisServer], key_prefix: str
) -> None:
    server = make_redis_server()  # SCRIPT FLUSH only on a server of this test's own
    client = redis.Redis.from_url(server.url)
    key = Keys(key_prefix).link("abcd")
    client.hset(key, mapping={"t": "https://example.com/", "c": 1, "m": 5})
    sha = load_scripts()["resolve_link"].sha

    first, second = _resolve_twice_around_a_flush(server.url, key)

    assert first[0] == ResolveStatus.OK
    assert second[0] == ResolveStatus.OK
    assert client.hget(key, "v") == b"2"
    assert client.script_exists(sha) == [True]
    client.close()
