"""begin_password_attempt.lua and finish_password_attempt.lua: limits on guessing, atomically."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import redis
from redis.typing import EncodableT, FieldT

from shared.keys import Keys
from shared.scripts import AttemptStatus, load_scripts

SCRIPTS = load_scripts()
CLIENT_LIMIT, CAPACITY, REFILL_MS, HOLD_MS, WINDOW = 5, 20, 3_000, 30_000, 900
CLIENT, MAX_CLIENTS = "203.0.113.1", 1_000
BEGIN_ARGS = [CLIENT, CLIENT_LIMIT, CAPACITY, REFILL_MS, HOLD_MS, WINDOW, MAX_CLIENTS]
NOW = 1_800_000_000_000


def begin_at(now_ms: int) -> list[Any]:
    return [*BEGIN_ARGS, now_ms]


def finish(wrong: int, client: str = CLIENT, now_ms: int | str = "") -> list[Any]:
    return [client, wrong, WINDOW, MAX_CLIENTS, now_ms]


def server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def set_entry(
    client: redis.Redis, key: str, count: int, ends_in_ms: int, who: str = CLIENT
) -> None:
    """A client's entry ('<count> <end ms>') in a counter hash, ending `ends_in_ms` from now."""
    client.hset(key, who, f"{count} {server_ms(client) + ends_in_ms}")


def entry(client: redis.Redis, key: str, who: str = CLIENT) -> tuple[int, int] | None:
    """A client's entry: its count and the ms until it ends; None when it has none."""
    value = client.hget(key, who)
    if value is None:
        return None
    count, ends = value.split()
    return int(count), int(ends) - server_ms(client)


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
        keys.password_failures("abcd"),
        keys.password_checks("abcd"),
        keys.password_pending("abcd"),
    ]


def test_every_counter_carries_the_links_hash_tag(counters: list[str]) -> None:
    assert all("{abcd}" in key for key in counters)


def test_a_check_holds_a_place_that_expires_by_itself(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    reply = lua("begin_password_attempt", counters, BEGIN_ARGS)

    assert reply == [AttemptStatus.GO, 0]
    held = entry(redis_sync, counters[2])
    assert held is not None and held[0] == 1 and 0 < held[1] <= HOLD_MS
    assert 0 < redis_sync.pttl(counters[2]) <= HOLD_MS
    assert 0 < redis_sync.pttl(counters[1]) <= REFILL_MS


def test_wrong_password_counts_a_failure_with_a_window_and_frees_the_place(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    lua("begin_password_attempt", counters, BEGIN_ARGS)

    reply = lua("finish_password_attempt", counters, finish(1))

    assert reply == 1
    failures = entry(redis_sync, counters[0])
    assert failures is not None and failures[0] == 1 and 0 < failures[1] <= WINDOW * 1000
    assert 0 < redis_sync.ttl(counters[0]) <= WINDOW
    assert redis_sync.exists(counters[2]) == 0


def test_window_is_not_extended_by_later_failures(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    set_entry(redis_sync, counters[0], 2, 100_000)

    lua("begin_password_attempt", counters, BEGIN_ARGS)
    lua("finish_password_attempt", counters, finish(1))

    failures = entry(redis_sync, counters[0])
    assert failures is not None and failures[0] == 3
    assert failures[1] <= 100_000


def test_full_client_counter_locks_out_with_the_time_left(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    set_entry(redis_sync, counters[0], CLIENT_LIMIT, 42_000)

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
        lua("finish_password_attempt", counters, finish(0))  # right: the client stays free

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
            lua("finish_password_attempt", counters, finish(0))

    assert granted == CAPACITY + hour // REFILL_MS - 1


def test_full_counter_without_ttl_gets_one_so_no_lockout_is_forever(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    redis_sync.hset(counters[0], CLIENT, f"{CLIENT_LIMIT} {NOW + WINDOW * 1000}")

    status, wait_ms = lua("begin_password_attempt", counters, begin_at(NOW))

    assert status == AttemptStatus.LOCKED
    assert wait_ms == WINDOW * 1000
    assert 0 < redis_sync.ttl(counters[0]) <= WINDOW


def test_running_checks_count_against_the_limit(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    set_entry(redis_sync, counters[0], 3, WINDOW * 1000)

    replies = [lua("begin_password_attempt", counters, BEGIN_ARGS)[0] for _ in range(3)]

    assert replies == [AttemptStatus.GO, AttemptStatus.GO, AttemptStatus.BUSY]


def test_right_password_clears_the_clients_failures_but_not_the_links_bucket(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    set_entry(redis_sync, counters[0], 3, WINDOW * 1000)
    lua("begin_password_attempt", counters, BEGIN_ARGS)
    bucket = redis_sync.get(counters[1])

    reply = lua("finish_password_attempt", counters, finish(0))

    assert reply == 0
    assert redis_sync.exists(counters[0]) == 0
    assert redis_sync.get(counters[1]) == bucket


def test_finish_after_the_place_expired_leaves_no_negative_count(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    lua("finish_password_attempt", counters, finish(1))

    assert redis_sync.exists(counters[2]) == 0


def test_every_client_of_a_link_shares_one_failures_hash_that_expires_with_the_window(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    for client in ("203.0.113.1", "203.0.113.2", "2001:db8::/64"):
        lua("begin_password_attempt", counters, [client, *BEGIN_ARGS[1:], NOW])
        lua("finish_password_attempt", counters, finish(1, client, NOW))
    lua("begin_password_attempt", counters, [*BEGIN_ARGS, NOW])
    lua("finish_password_attempt", counters, finish(1, CLIENT, NOW + 1_000))

    assert redis_sync.hgetall(counters[0]) == {
        b"203.0.113.1": f"2 {NOW + WINDOW * 1000}".encode(),
        b"203.0.113.2": f"1 {NOW + WINDOW * 1000}".encode(),
        b"2001:db8::/64": f"1 {NOW + WINDOW * 1000}".encode(),
    }
    assert WINDOW - 5 < redis_sync.ttl(counters[0]) <= WINDOW
    assert redis_sync.exists(counters[2]) == 0


def test_an_ended_window_counts_as_empty_and_the_next_failure_starts_a_new_one(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    redis_sync.hset(counters[0], CLIENT, f"{CLIENT_LIMIT} {NOW}")

    reply = lua("begin_password_attempt", counters, begin_at(NOW))
    failures = lua("finish_password_attempt", counters, finish(1, CLIENT, NOW))

    assert reply == [AttemptStatus.GO, 0]
    assert failures == 1
    assert redis_sync.hget(counters[0], CLIENT) == f"1 {NOW + WINDOW * 1000}".encode()


def test_an_unreadable_entry_counts_as_empty(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    redis_sync.hset(counters[0], CLIENT, str(CLIENT_LIMIT))

    reply = lua("begin_password_attempt", counters, begin_at(NOW))

    assert reply == [AttemptStatus.GO, 0]


def test_a_full_failures_hash_drops_ended_entries_before_a_new_client_joins(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    live: dict[FieldT, EncodableT] = {
        f"10.0.{n // 256}.{n % 256}": f"1 {NOW + 60_000 + n}" for n in range(MAX_CLIENTS - 2)
    }
    ended: dict[FieldT, EncodableT] = {
        "192.0.2.1": f"1 {NOW - 1}",
        "192.0.2.2": f"{CLIENT_LIMIT} {NOW}",
    }
    redis_sync.hset(counters[0], mapping={**live, **ended})

    lua("begin_password_attempt", counters, begin_at(NOW))
    lua("finish_password_attempt", counters, finish(1, CLIENT, NOW))

    stored = redis_sync.hgetall(counters[0])
    assert len(stored) == MAX_CLIENTS - 1
    assert b"192.0.2.1" not in stored and b"192.0.2.2" not in stored
    assert stored[CLIENT.encode()] == f"1 {NOW + WINDOW * 1000}".encode()


def test_a_full_failures_hash_of_live_entries_drops_the_one_that_ends_first(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    live: dict[FieldT, EncodableT] = {
        f"10.0.{n // 256}.{n % 256}": f"1 {NOW + 60_000 + n}" for n in range(MAX_CLIENTS)
    }
    redis_sync.hset(counters[0], mapping=live)

    lua("begin_password_attempt", counters, begin_at(NOW))
    lua("finish_password_attempt", counters, finish(1, CLIENT, NOW))
    again = lua("finish_password_attempt", counters, finish(1, "10.0.0.5", NOW))

    stored = redis_sync.hgetall(counters[0])
    assert len(stored) == MAX_CLIENTS
    assert b"10.0.0.0" not in stored and b"10.0.0.1" in stored
    assert again == 2  # a client already held is counted, nobody else dropped
    assert stored[CLIENT.encode()] == f"1 {NOW + WINDOW * 1000}".encode()


def test_a_full_running_hash_drops_ended_holds_before_a_new_client_joins(
    lua: Lua, counters: list[str], redis_sync: redis.Redis
) -> None:
    live: dict[FieldT, EncodableT] = {
        f"10.0.{n // 256}.{n % 256}": f"1 {NOW + 1_000 + n}" for n in range(MAX_CLIENTS - 1)
    }
    redis_sync.hset(counters[2], mapping={**live, "192.0.2.1": f"1 {NOW}"})

    reply = lua("begin_password_attempt", counters, begin_at(NOW))

    stored = redis_sync.hgetall(counters[2])
    assert reply == [AttemptStatus.GO, 0]
    assert len(stored) == MAX_CLIENTS
    assert b"192.0.2.1" not in stored
    assert stored[CLIENT.encode()] == f"1 {NOW + HOLD_MS}".encode()
