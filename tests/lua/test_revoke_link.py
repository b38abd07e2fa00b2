"""revoke_link.lua: mark revoked once, give the keys the retention, never lengthen a TTL."""

from __future__ import annotations

import time

import pytest
import redis

from shared.keys import Keys
from tests.lua.conftest import Lua

T0 = 1_800_000_000_000
RETENTION_SECONDS = 3600
RETENTION_MS = RETENTION_SECONDS * 1000


@pytest.fixture
def key(keys: Keys, redis_sync: redis.Redis) -> str:
    key = keys.link("abcd")
    redis_sync.hset(key, mapping={"t": "https://example.com/", "c": T0 - 1000})
    return key


def _pairs(reply: list[bytes]) -> dict[bytes, bytes]:
    return dict(zip(reply[::2], reply[1::2], strict=True))


def test_unknown_link_returns_nothing_and_creates_nothing(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    unknown = keys.link("nope")

    reply = lua("revoke_link", [unknown], [RETENTION_SECONDS, T0])

    assert reply == []
    assert redis_sync.exists(unknown) == 0


def test_revocation_records_when_and_returns_the_link(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    reply = lua("revoke_link", [key], [RETENTION_SECONDS, T0])

    assert _pairs(reply) == {
        b"t": b"https://example.com/",
        b"c": str(T0 - 1000).encode(),
        b"r": str(T0).encode(),
    }


def test_revoked_link_without_ttl_gets_the_retention(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    lua("revoke_link", [key], [RETENTION_SECONDS, T0])

    assert RETENTION_MS - 5000 < redis_sync.pttl(key) <= RETENTION_MS


def test_revocation_shortens_a_longer_ttl_to_the_retention(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    redis_sync.pexpire(key, 30 * RETENTION_MS)

    lua("revoke_link", [key], [RETENTION_SECONDS, T0])

    assert RETENTION_MS - 5000 < redis_sync.pttl(key) <= RETENTION_MS


def test_revocation_never_lengthens_a_shorter_ttl(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    redis_sync.pexpire(key, 5000)

    lua("revoke_link", [key], [RETENTION_SECONDS, T0])

    assert 0 < redis_sync.pttl(key) <= 5000


def test_second_revocation_keeps_the_first_time_and_ttl(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    lua("revoke_link", [key], [RETENTION_SECONDS, T0])
    redis_sync.pexpire(key, 7000)  # as if part of the retention had passed

    reply = lua("revoke_link", [key], [RETENTION_SECONDS, T0 + 50_000])

    assert _pairs(reply)[b"r"] == str(T0).encode()
    assert 0 < redis_sync.pttl(key) <= 7000


def test_without_now_the_server_clock_dates_the_revocation(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    wall_ms = int(time.time() * 1000)

    reply = lua("revoke_link", [key], [RETENTION_SECONDS])

    assert abs(int(_pairs(reply)[b"r"]) - wall_ms) < 5000
