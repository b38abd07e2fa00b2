"""resolve_link.lua: the check and the count of one view in one atomic step."""

from __future__ import annotations

import time

import pytest
import redis
from redis.typing import EncodableT, FieldT

from shared.keys import Keys
from shared.scripts import ResolveMode, ResolveStatus
from tests.lua.conftest import Lua

T0 = 1_800_000_000_000
RETENTION_SECONDS = 3600
RETENTION_MS = RETENTION_SECONDS * 1000
TARGET = b"https://example.com/a"


def _store(client: redis.Redis, key: str, **fields: EncodableT) -> None:
    mapping: dict[FieldT, EncodableT] = {"t": TARGET, "c": T0 - 1000}
    mapping.update(fields)
    client.hset(key, mapping=mapping)


def _resolve(lua: Lua, key: str, mode: ResolveMode, now: int | None = T0) -> list[object]:
    args: list[object] = [int(mode), RETENTION_SECONDS]
    if now is not None:
        args.append(now)
    reply: list[object] = lua("resolve_link", [key], args)
    return reply


@pytest.fixture
def key(keys: Keys) -> str:
    return keys.link("abcd")


def test_unknown_link_is_not_found_and_not_created(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    reply = _resolve(lua, key, ResolveMode.COUNT)

    assert reply == [ResolveStatus.NOT_FOUND]
    assert redis_sync.exists(key) == 0


def test_active_link_counts_one_view_and_records_when(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key)

    reply = _resolve(lua, key, ResolveMode.COUNT)

    assert reply == [ResolveStatus.OK, TARGET, None, None, None, None]
    assert redis_sync.hget(key, "v") == b"1"
    assert redis_sync.hget(key, "l") == str(T0).encode()


def test_peek_checks_without_counting(lua: Lua, key: str, redis_sync: redis.Redis) -> None:
    _store(redis_sync, key, m=1)

    replies = [_resolve(lua, key, ResolveMode.PEEK) for _ in range(3)]

    # A peek carries view-limited last (1: this link has maxViews), for HEAD and previews.
    assert replies == [[ResolveStatus.OK, TARGET, None, None, None, None, None, 1]] * 3
    assert redis_sync.hget(key, "v") is None
    assert redis_sync.hget(key, "l") is None


def test_file_link_returns_its_file_fields(lua: Lua, key: str, redis_sync: redis.Redis) -> None:
    _store(redis_sync, key, t="stored-name", k="f", fn="notes.txt", fs=12, ct="text/plain")

    reply = _resolve(lua, key, ResolveMode.COUNT)

    assert reply == [ResolveStatus.OK, b"stored-name", b"f", b"notes.txt", b"12", b"text/plain"]


@pytest.mark.parametrize(
    ("now", "status"),
    [(T0 + 59_999, ResolveStatus.OK), (T0 + 60_000, ResolveStatus.EXPIRED)],
)
def test_link_expires_at_its_expiry_millisecond(
    lua: Lua, key: str, redis_sync: redis.Redis, now: int, status: ResolveStatus
) -> None:
    _store(redis_sync, key, e=T0 + 60_000)

    reply = _resolve(lua, key, ResolveMode.COUNT, now=now)

    assert reply[0] == status


def test_expired_link_counts_nothing(lua: Lua, key: str, redis_sync: redis.Redis) -> None:
    _store(redis_sync, key, e=T0)

    reply = _resolve(lua, key, ResolveMode.COUNT)

    assert reply == [ResolveStatus.EXPIRED]
    assert redis_sync.hget(key, "v") is None


def test_revocation_wins_over_expiry_and_exhaustion(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, e=T0 - 1, m=1, v=1, r=T0 - 5)

    reply = _resolve(lua, key, ResolveMode.COUNT)

    assert reply == [ResolveStatus.REVOKED]


def test_expiry_wins_over_exhaustion(lua: Lua, key: str, redis_sync: redis.Redis) -> None:
    _store(redis_sync, key, e=T0 - 1, m=1, v=1)

    reply = _resolve(lua, key, ResolveMode.PEEK)

    assert reply == [ResolveStatus.EXPIRED]


def test_link_passes_exactly_max_views_times(lua: Lua, key: str, redis_sync: redis.Redis) -> None:
    _store(redis_sync, key, m=3)

    statuses = [_resolve(lua, key, ResolveMode.COUNT)[0] for _ in range(6)]

    assert statuses == [ResolveStatus.OK] * 3 + [ResolveStatus.EXHAUSTED] * 3
    assert redis_sync.hget(key, "v") == b"3"


def test_exhausted_link_answers_exhausted_even_to_a_peek(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, m=2, v=2)

    assert _resolve(lua, key, ResolveMode.PEEK) == [ResolveStatus.EXHAUSTED]


def test_password_link_is_not_counted_without_verification(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, p="$argon2id$hash")

    reply = _resolve(lua, key, ResolveMode.COUNT)

    assert reply == [ResolveStatus.PASSWORD_REQUIRED]
    assert redis_sync.hget(key, "v") is None


def test_peek_at_a_password_link_returns_its_hash_and_counts_nothing(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, p="$argon2id$hash")

    reply = _resolve(lua, key, ResolveMode.PEEK)

    assert reply == [
        ResolveStatus.PASSWORD_REQUIRED,
        TARGET,
        None,
        None,
        None,
        None,
        b"$argon2id$hash",
        None,  # not view-limited
    ]
    assert redis_sync.hget(key, "v") is None


def test_verified_password_view_is_counted(lua: Lua, key: str, redis_sync: redis.Redis) -> None:
    _store(redis_sync, key, p="$argon2id$hash", m=1)

    first = _resolve(lua, key, ResolveMode.COUNT_VERIFIED)
    second = _resolve(lua, key, ResolveMode.COUNT_VERIFIED)

    assert first == [ResolveStatus.OK, TARGET, None, None, None, None]
    assert second == [ResolveStatus.EXHAUSTED]
    assert redis_sync.hget(key, "v") == b"1"


def test_views_before_the_last_leave_the_link_without_ttl(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, m=2)

    _resolve(lua, key, ResolveMode.COUNT)

    assert redis_sync.pttl(key) == -1


def test_last_view_gives_the_link_the_retention_ttl(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, m=2, v=1)

    _resolve(lua, key, ResolveMode.COUNT)

    assert RETENTION_MS - 5000 < redis_sync.pttl(key) <= RETENTION_MS


def test_last_view_shortens_a_longer_ttl_to_the_retention(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, m=1)
    redis_sync.pexpire(key, 10 * RETENTION_MS)

    _resolve(lua, key, ResolveMode.COUNT)

    assert RETENTION_MS - 5000 < redis_sync.pttl(key) <= RETENTION_MS


def test_last_view_never_lengthens_a_shorter_ttl(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, m=1)
    redis_sync.pexpire(key, 5000)

    _resolve(lua, key, ResolveMode.COUNT)

    assert 0 < redis_sync.pttl(key) <= 5000


def test_without_now_the_server_clock_decides_expiry(
    lua: Lua, keys: Keys, redis_sync: redis.Redis
) -> None:
    wall_ms = int(time.time() * 1000)
    past, future = keys.link("past"), keys.link("future")
    _store(redis_sync, past, e=wall_ms - 60_000)
    _store(redis_sync, future, e=wall_ms + 60_000)

    expired = _resolve(lua, past, ResolveMode.COUNT, now=None)
    active = _resolve(lua, future, ResolveMode.COUNT, now=None)

    assert expired == [ResolveStatus.EXPIRED]
    assert active[0] == ResolveStatus.OK
    assert abs(int(redis_sync.hget(future, "l") or 0) - wall_ms) < 5000


def test_click_to_open_link_counts_nothing_on_a_plain_get(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, o=1, m=1)

    replies = [_resolve(lua, key, ResolveMode.COUNT) for _ in range(3)]

    assert replies == [[ResolveStatus.CLICK_REQUIRED]] * 3
    assert redis_sync.hget(key, "v") is None


def test_click_to_open_peek_carries_the_link_fields(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, o=1)

    reply = _resolve(lua, key, ResolveMode.PEEK)

    assert reply == [ResolveStatus.CLICK_REQUIRED, TARGET, None, None, None, None, None, None]
    assert redis_sync.hget(key, "v") is None


def test_the_click_counts_one_view_and_spends_the_limit(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, o=1, m=1)

    first = _resolve(lua, key, ResolveMode.COUNT_CLICKED)
    second = _resolve(lua, key, ResolveMode.COUNT_CLICKED)

    assert first == [ResolveStatus.OK, TARGET, None, None, None, None]
    assert second == [ResolveStatus.EXHAUSTED]
    assert redis_sync.hget(key, "v") == b"1"


def test_with_a_password_too_the_password_form_is_the_click(
    lua: Lua, key: str, redis_sync: redis.Redis
) -> None:
    _store(redis_sync, key, o=1, p="hash")

    plain = _resolve(lua, key, ResolveMode.COUNT)
    clicked = _resolve(lua, key, ResolveMode.COUNT_CLICKED)
    peek = _resolve(lua, key, ResolveMode.PEEK)
    verified = _resolve(lua, key, ResolveMode.COUNT_VERIFIED)

    assert plain == [ResolveStatus.PASSWORD_REQUIRED]
    assert clicked == [ResolveStatus.PASSWORD_REQUIRED]
    assert peek[0] == ResolveStatus.PASSWORD_REQUIRED
    assert verified[0] == ResolveStatus.OK
    assert redis_sync.hget(key, "v") == b"1"
