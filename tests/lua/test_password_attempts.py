"""begin_password_attempt.lua and finish_password_attempt.lua: limits on guessing, atomically."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import redis

from shared.keys import Keys
from shared.scripts import AttemptStatus, load_scripts

SCRIPTS = load_scripts()
CLIENT_LIMIT, CAPACITY, REFILL_MS, HOLD_MS, WINDOW = 5, 20, 3_000, 30_000, 900
BEGIN_ARGS = [CLIENT_LIMIT, CAPACITY, REFILL_MS, HOLD_MS, WINDOW]
NOW = 1_800_000_000_000


def begin_at(now_ms: int) -> list[Any]:
    return [*BEGIN_ARGS, now_ms]


class Lua:
    """lua(name, keys, args): EVAL of the project's script on the suite's server."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def __call__(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        source = SCRIPTS[name].source.decode()
        return self.client.eval(source, len(keys), *keys, *args)


@pytest.fixture
def lua(redis_sync: redis.Redis) -> Lua:
    return Lua(redis_sync)


@pytest.fixture
def counters(key_prefix: str) -> list[str]:
    keys = Keys(key_prefix)
    return [
        keys.password_failures("abcd", "203.0.113.1"),
        keys.password_checks("abcd"),
        keys.password_pending("abcd", "203.0.113.1"),
    ]


def test_every_counter_carries_the_links_hash_tag(counters: list[str]) -> None:
    assert all("{abcd}" in key for key in counters)


def test_a_check_holds_a_place_that_expires_by_itself(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    reply = lua("begin_password_attempt", counters, BEGIN_ARGS)

    assert reply == [AttemptStatus.GO, 0]
    assert redis_sync.get(counters[2]) == b"1"
    assert 0 < redis_sync.pttl(counters[2]) <= HOLD_MS
    assert 0 < redis_sync.pttl(counters[1]) <= REFILL_MS


def test_wrong_password_counts_a_failure_with_a_window_and_frees_the_place(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    lua("begin_password_attempt", counters, BEGIN_ARGS)

    reply = lua("finish_password_attempt", counters, [1, WINDOW])

    assert reply == 1
    assert 0 < redis_sync.ttl(counters[0]) <= WINDOW
    assert redis_sync.exists(counters[2]) == 0


def test_window_is_not_extended_by_later_failures(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    redis_sync.set(counters[0], 2, ex=100)

    lua("begin_password_attempt", counters, BEGIN_ARGS)
    lua("finish_password_attempt", counters, [1, WINDOW])

    assert redis_sync.get(counters[0]) == b"3"
    assert redis_sync.ttl(counters[0]) <= 100


def test_full_client_counter_locks_out_with_the_time_left(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    redis_sync.set(counters[0], CLIENT_LIMIT, px=42_000)

    status, wait_ms = lua("begin_password_attempt", counters, BEGIN_ARGS)

    assert status == AttemptStatus.LOCKED
    assert 40_000 < wait_ms <= 42_000
    assert redis_sync.exists(counters[2]) == 0


def test_empty_link_bucket_locks_out_every_client_until_the_next_token(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    replies = []
    for _ in range(CAPACITY):
        replies.append(lua("begin_password_attempt", counters, begin_at(NOW)))
        lua("finish_password_attempt", counters, [0, WINDOW])  # right: the client stays free

    status, wait_ms = lua("begin_password_attempt", counters, begin_at(NOW))

    assert replies == [[AttemptStatus.GO, 0]] * CAPACITY
    assert status == AttemptStatus.LOCKED
    assert wait_ms == REFILL_MS
    assert redis_sync.exists(counters[2]) == 0
    assert lua("begin_password_attempt", counters, begin_at(NOW + REFILL_MS)) == [0, 0]


def test_link_bucket_never_lets_more_than_its_rate_through(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    hour = 3_600_000
    granted = 0
    for now in range(NOW, NOW + hour, 250):  # one check asked every 250 ms for an hour
        status, _ = lua("begin_password_attempt", counters, begin_at(now))
        if status == AttemptStatus.GO:
            granted += 1
            lua("finish_password_attempt", counters, [0, WINDOW])

    assert granted == CAPACITY + hour // REFILL_MS - 1


def test_full_counter_without_ttl_gets_one_so_no_lockout_is_forever(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    redis_sync.set(counters[0], CLIENT_LIMIT)

    status, wait_ms = lua("begin_password_attempt", counters, BEGIN_ARGS)

    assert status == AttemptStatus.LOCKED
    assert wait_ms == WINDOW * 1000
    assert 0 < redis_sync.ttl(counters[0]) <= WINDOW


def test_running_checks_count_against_the_limit(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    redis_sync.set(counters[0], 3, ex=WINDOW)

    replies = [lua("begin_password_attempt", counters, BEGIN_ARGS)[0] for _ in range(3)]

    assert replies == [AttemptStatus.GO, AttemptStatus.GO, AttemptStatus.BUSY]


def test_right_password_clears_the_clients_failures_but_not_the_links_bucket(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    redis_sync.set(counters[0], 3, ex=WINDOW)
    lua("begin_password_attempt", counters, BEGIN_ARGS)
    bucket = redis_sync.get(counters[1])

    reply = lua("finish_password_attempt", counters, [0, WINDOW])

    assert reply == 0
    assert redis_sync.exists(counters[0]) == 0
    assert redis_sync.get(counters[1]) == bucket


def test_finish_after_the_place_expired_leaves_no_negative_count(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    lua("finish_password_attempt", counters, [1, WINDOW])

    assert redis_sync.exists(counters[2]) == 0
