"""create_links.lua: create_link for several links in one call, each link on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from devtools.redis_server import RedisServer
from shared.keys import Keys
from shared.scripts import load_scripts
from tests.lua.conftest import Lua

T0 = 1_800_000_000_000


def test_each_link_is_stored_with_its_own_fields_ttl_and_creation_second(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    first, second = keys.link("abcd"), keys.link("efgh")
    expire_at = int(redis_sync.time()[0]) * 1000 + 86_400_123

    created = lua(
        "create_links",
        [first, second],
        ["", T0 + 999, 2, "t", "https://example.com/1",
         expire_at, T0 + 1000, 4, "t", "https://example.com/2", "m", 5],
    )  # fmt: skip

    assert created == [T0 // 1000, T0 // 1000 + 1]
    assert redis_sync.hgetall(first) == {b"c": b"1800000000", b"t": b"https://example.com/1"}
    assert redis_sync.hgetall(second) == {
        b"c": b"1800000001",
        b"t": b"https://example.com/2",
        b"m": b"5",
    }
    assert redis_sync.pttl(first) == -1
    assert redis_sync.pexpiretime(second) == expire_at


def test_a_taken_code_answers_0_for_its_link_alone(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    taken, free = keys.link("abcd"), keys.link("efgh")
    lua("create_link", [taken], ["", T0, "t", "https://example.com/first"])

    created = lua(
        "create_links",
        [taken, free],
        ["", T0 + 5000, 2, "t", "https://example.com/second",
         "", T0 + 5000, 2, "t", "https://example.com/third"],
    )  # fmt: skip

    assert created == [0, T0 // 1000 + 5]
    assert redis_sync.hgetall(taken) == {b"c": b"1800000000", b"t": b"https://example.com/first"}
    assert redis_sync.hget(free, "t") == b"https://example.com/third"


def test_on_a_full_server_each_link_gets_the_refusal_and_nothing_is_stored(
    make_redis_server: Callable[..., RedisServer], keys: Keys
) -> None:
    client = redis.Redis.from_url(make_redis_server().url)
    client.config_set("maxmemory", "1")
    links = [keys.link("abcd"), keys.link("efgh")]
    source = load_scripts()["create_links"].source.decode()

    replies: Any = client.eval(
        source, 2, *links, "", T0, 2, "t", "https://example.com/1", "", T0, 2, "t", "x"
    )

    assert [type(reply) for reply in replies] == [redis.exceptions.OutOfMemoryError] * 2
    assert str(replies[0]) == "command not allowed when used memory > 'maxmemory'."
    assert client.exists(*links) == 0
