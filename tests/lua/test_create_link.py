"""create_link.lua: store a link unless its code is taken, with its TTL, atomically."""

from __future__ import annotations

import redis

from shared.keys import Keys
from tests.lua.conftest import Lua

T0 = 1_800_000_000_000


def test_new_link_is_stored_without_ttl_when_it_never_expires(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    key = keys.link("abcd")

    created = lua("create_link", [key], ["", T0 + 999, "t", "https://example.com/", "m", 5])

    assert created == T0 // 1000
    assert redis_sync.hgetall(key) == {
        b"c": b"1800000000",
        b"t": b"https://example.com/",
        b"m": b"5",
    }
    assert redis_sync.pttl(key) == -1


def test_creation_time_comes_from_the_server_clock_in_whole_seconds(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    key = keys.link("abcd")
    before = int(redis_sync.time()[0])

    created = lua("create_link", [key], ["", "", "t", "https://example.com/"])

    after = int(redis_sync.time()[0])
    assert before <= created <= after
    assert redis_sync.hget(key, "c") == str(created).encode()


def test_new_link_expires_at_the_given_millisecond(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    key = keys.link("abcd")
    expire_at = int(redis_sync.time()[0]) * 1000 + 86_400_123

    lua("create_link", [key], [expire_at, "", "t", "https://example.com/"])

    assert redis_sync.pexpiretime(key) == expire_at


def test_taken_code_is_refused_and_the_link_left_untouched(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    key = keys.link("abcd")
    lua("create_link", [key], ["", T0, "t", "https://example.com/first"])
    redis_sync.pexpire(key, 60_000)

    created = lua("create_link", [key], ["", T0 + 5000, "t", "https://example.com/second"])

    assert created == 0
    assert redis_sync.hget(key, "t") == b"https://example.com/first"
    assert redis_sync.hget(key, "c") == b"1800000000"
    assert 0 < redis_sync.pttl(key) <= 60_000
