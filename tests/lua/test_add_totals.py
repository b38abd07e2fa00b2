"""add_totals.lua: the process's counts added to one day's totals, which then expire."""

from __future__ import annotations

import redis

from shared.keys import Keys
from shared.stats import TOTALS_TTL_SECONDS
from tests.lua.conftest import Lua


def test_counts_are_added_to_what_the_day_has_and_the_ttl_is_set(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    key = keys.totals("2026-02-16")
    redis_sync.hset(key, mapping={"v": 5, "g": 1})

    reply = lua("add_totals", [key], [TOTALS_TTL_SECONDS, "v", 3, "n", 2])

    assert reply == 2
    assert redis_sync.hgetall(key) == {b"v": b"8", b"g": b"1", b"n": b"2"}
    assert TOTALS_TTL_SECONDS - 60 < redis_sync.ttl(key) <= TOTALS_TTL_SECONDS
