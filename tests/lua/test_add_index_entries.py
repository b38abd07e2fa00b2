"""add_index_entries.lua: a batch's listing index entries in one call, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from devtools.redis_server import RedisServer
from shared.keys import Keys
from shared.scripts import load_scripts
from tests.lua.conftest import Lua


def test_one_entry_a_code_in_order_and_each_id_in_the_reply(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    ids = lua("add_index_entries", [keys.index], ["c", "abcd", "efgh", "ijkl"])

    entries = redis_sync.xrange(keys.index)
    assert entries is not None
    assert [entry_id for entry_id, _ in entries] == ids
    assert [fields for _, fields in entries] == [{b"c": b"abcd"}, {b"c": b"efgh"}, {b"c": b"ijkl"}]


def test_on_a_full_server_each_code_gets_the_refusal_and_no_entry_is_written(
    make_redis_server: Callable[..., RedisServer], keys: Keys
) -> None:
    client = redis.Redis.from_url(make_redis_server().url)
    client.config_set("maxmemory", "1")
    source = load_scripts()["add_index_entries"].source.decode()

    replies: Any = client.eval(source, 1, keys.index, "c", "abcd", "efgh")

    assert [type(reply) for reply in replies] == [redis.exceptions.OutOfMemoryError] * 2
    assert client.exists(keys.index) == 0
