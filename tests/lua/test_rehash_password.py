"""rehash_password.lua: replace a verified hash, only if it is still the stored one."""

from __future__ import annotations

import redis

from shared.keys import Keys
from tests.lua.conftest import Lua


def test_verified_hash_is_replaced(lua: Lua, keys: Keys, redis_sync: redis.Redis) -> None:
    key = keys.link("abcd")
    redis_sync.hset(key, mapping={"t": "https://example.com/", "p": "old"})

    replaced = lua("rehash_password", [key], ["old", "new"])

    assert replaced == 1
    assert redis_sync.hget(key, "p") == b"new"


def test_hash_changed_meanwhile_is_left_alone(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    key = keys.link("abcd")
    redis_sync.hset(key, mapping={"t": "https://example.com/", "p": "other"})

    replaced = lua("rehash_password", [key], ["old", "new"])

    assert replaced == 0
    assert redis_sync.hget(key, "p") == b"other"


def test_deleted_link_is_not_brought_back(lua: Lua, keys: Keys, redis_sync: redis.Redis) -> None:
    key = keys.link("gone")

    replaced = lua("rehash_password", [key], ["old", "new"])

    assert replaced == 0
    assert redis_sync.exists(key) == 0
