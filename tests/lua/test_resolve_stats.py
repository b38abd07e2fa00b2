"""resolve_link.lua records a counted view's stats in the same call: days, referrers, devices."""

from __future__ import annotations

import pytest
import redis
from redis.typing import EncodableT, FieldT

from shared.keys import Keys
from shared.scripts import ResolveMode, ResolveStatus
from shared.stats import DAY_MS
from tests.lua.conftest import Lua
from tests.support.raw import raw_hash

DAY = 20_500  # a UTC day number: 2026-02-16
MIDNIGHT = DAY * DAY_MS
T0 = MIDNIGHT + 12 * 3600 * 1000
RETENTION_SECONDS = 3600
TARGET = b"https://example.com/a"
CODE = "stat"


@pytest.fixture
def family(keys: Keys) -> tuple[str, str, str, str]:
    """link, stats, previews and today's totals keys of one link."""
    return (*keys.link_family(CODE), keys.totals("2026-02-16"))


def _store(client: redis.Redis, key: str, **fields: EncodableT) -> None:
    mapping: dict[FieldT, EncodableT] = {"t": TARGET, "c": 1}
    mapping.update(fields)
    client.hset(key, mapping=mapping)


def _resolve(
    lua: Lua,
    family: tuple[str, ...],
    mode: ResolveMode = ResolveMode.COUNT,
    now: int = T0,
    host: str = "",
    device: str = "d",
) -> list[object]:
    reply: list[object] = lua(
        "resolve_link", list(family), [int(mode), RETENTION_SECONDS, now, host, device]
    )
    return reply


def _hash(client: redis.Redis, key: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw_hash(client, key).items()}


def test_first_view_records_its_day_referrer_and_device(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, previews, totals = family
    _store(redis_sync, link)

    reply = _resolve(lua, family, host="news.example", device="m")

    assert reply[0] == ResolveStatus.OK
    assert _hash(redis_sync, stats) == {str(DAY): "1", "rnews.example": "1", "h": "1", "dm": "1"}
    assert _hash(redis_sync, totals) == {"v": "1"}
    assert redis_sync.exists(previews) == 0


def test_views_add_up_per_field(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, _, totals = family
    _store(redis_sync, link)

    _resolve(lua, family, host="a.example", device="d")
    _resolve(lua, family, host="a.example", device="t")
    _resolve(lua, family, host="", device="o")

    assert _hash(redis_sync, stats) == {
        str(DAY): "3",
        "ra.example": "2",
        "r": "1",
        "h": "1",
        "dd": "1",
        "dt": "1",
        "do": "1",
    }
    assert _hash(redis_sync, totals) == {"v": "3"}


def test_unknown_device_letter_counts_as_other(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, _, _ = family
    _store(redis_sync, link)

    _resolve(lua, family, device="x")
    lua("resolve_link", list(family), [int(ResolveMode.COUNT), RETENTION_SECONDS, T0])

    assert redis_sync.hget(stats, "do") == b"2"
    assert redis_sync.hget(stats, "r") == b"2"  # no host given: no Referer, like ""


def test_a_view_at_utc_midnight_counts_on_the_new_day(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, _, _ = family
    _store(redis_sync, link)

    _resolve(lua, family, now=MIDNIGHT - 1)
    _resolve(lua, family, now=MIDNIGHT)

    assert redis_sync.hget(stats, str(DAY - 1)) == b"1"
    assert redis_sync.hget(stats, str(DAY)) == b"1"


def test_days_older_than_90_are_dropped_on_a_new_days_first_view(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, _, _ = family
    _store(redis_sync, link)
    _resolve(lua, family, now=T0)
    _resolve(lua, family, now=T0 + DAY_MS)

    _resolve(lua, family, now=T0 + 90 * DAY_MS)  # day DAY + 90: keeps DAY + 1 .. DAY + 90

    days = {k for k in _hash(redis_sync, stats) if k.isdigit()}
    assert days == {str(DAY + 1), str(DAY + 90)}


def test_the_89th_day_after_keeps_the_first(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, _, _ = family
    _store(redis_sync, link)
    _resolve(lua, family, now=T0)

    _resolve(lua, family, now=T0 + 89 * DAY_MS)

    days = {k for k in _hash(redis_sync, stats) if k.isdigit()}
    assert days == {str(DAY), str(DAY + 89)}


def test_hosts_past_twenty_count_as_other(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, _, _ = family
    _store(redis_sync, link)
    for n in range(20):
        _resolve(lua, family, host=f"h{n}.example")

    _resolve(lua, family, host="late.example")
    _resolve(lua, family, host="h3.example")  # a held host still counts on its own
    _resolve(lua, family, host="*")

    fields = _hash(redis_sync, stats)
    assert fields["h"] == "20"
    assert "rlate.example" not in fields
    assert fields["r*"] == "2"
    assert fields["rh3.example"] == "2"


@pytest.mark.parametrize("mode", [ResolveMode.PEEK, ResolveMode.COUNT])
def test_what_counts_no_view_records_nothing(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis, mode: ResolveMode
) -> None:
    """A peek (HEAD) records nothing; nor does a GET that meets the password form."""
    link, stats, previews, totals = family
    _store(redis_sync, link, p="hash")

    _resolve(lua, family, mode)

    assert redis_sync.exists(stats, previews, totals) == 0


def test_verified_password_view_records(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, _, _ = family
    _store(redis_sync, link, p="hash")

    _resolve(lua, family, ResolveMode.COUNT_VERIFIED, device="m")

    assert redis_sync.hget(stats, "dm") == b"1"


def test_preview_counts_a_preview_and_no_view(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, previews, totals = family
    _store(redis_sync, link, m=1)

    reply = _resolve(lua, family, ResolveMode.PREVIEW)
    _resolve(lua, family, ResolveMode.PREVIEW)

    assert reply[:2] == [ResolveStatus.OK, TARGET]
    assert _hash(redis_sync, previews) == {str(DAY): "2", "t": "2"}
    assert redis_sync.exists(stats) == 0
    assert redis_sync.hget(link, "v") is None
    assert _hash(redis_sync, totals) == {"p": "2"}


def test_preview_of_a_password_link_still_carries_the_hash(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, _, previews, _ = family
    _store(redis_sync, link, p="hash")

    reply = _resolve(lua, family, ResolveMode.PREVIEW)

    assert reply[0] == ResolveStatus.PASSWORD_REQUIRED and reply[6] == b"hash"
    assert redis_sync.hget(previews, "t") == b"1"


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"r": 1}, ResolveStatus.REVOKED),
        ({"e": T0}, ResolveStatus.EXPIRED),
        ({"m": 1, "v": 1}, ResolveStatus.EXHAUSTED),
    ],
)
def test_gone_links_count_in_the_totals_only(
    lua: Lua,
    family: tuple[str, str, str, str],
    redis_sync: redis.Redis,
    fields: dict[str, int],
    status: ResolveStatus,
) -> None:
    link, stats, previews, totals = family
    _store(redis_sync, link, **fields)

    assert _resolve(lua, family) == [status]
    assert _resolve(lua, family, ResolveMode.PREVIEW) == [status]
    assert _resolve(lua, family, ResolveMode.PEEK) == [status]

    assert _hash(redis_sync, totals) == {"g": "2"}
    assert redis_sync.exists(stats, previews) == 0


def test_unknown_code_counts_as_not_found_and_creates_no_link_keys(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, previews, totals = family

    assert _resolve(lua, family) == [ResolveStatus.NOT_FOUND]
    assert _resolve(lua, family, ResolveMode.PEEK) == [ResolveStatus.NOT_FOUND]

    assert _hash(redis_sync, totals) == {"n": "1"}
    assert redis_sync.exists(link, stats, previews) == 0
    assert 91 * 86400 < redis_sync.ttl(totals) <= 92 * 86400


def test_without_stats_keys_nothing_is_recorded(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, previews, totals = family
    _store(redis_sync, link)

    reply = lua("resolve_link", [link], [int(ResolveMode.COUNT), RETENTION_SECONDS, T0, "a", "d"])

    assert reply[0] == ResolveStatus.OK
    assert redis_sync.hget(link, "v") == b"1"
    assert redis_sync.exists(stats, previews, totals) == 0


def test_stats_keys_expire_with_the_link(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, previews, _ = family
    _store(redis_sync, link, m=2)
    redis_sync.pexpire(link, 50_000_000)

    _resolve(lua, family)
    _resolve(lua, family, ResolveMode.PREVIEW)
    assert abs(redis_sync.pttl(stats) - redis_sync.pttl(link)) < 1000
    assert 49_000_000 < redis_sync.pttl(previews) <= 50_000_000

    _resolve(lua, family)  # the last view: the link's keys go after the retention

    assert 0 < redis_sync.pttl(link) <= RETENTION_SECONDS * 1000
    assert 0 < redis_sync.pttl(stats) <= RETENTION_SECONDS * 1000
    assert 0 < redis_sync.pttl(previews) <= RETENTION_SECONDS * 1000


def test_the_last_view_of_a_link_without_expiry_gives_its_previews_the_retention(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, previews, _ = family
    _store(redis_sync, link, m=1)
    _resolve(lua, family, ResolveMode.PREVIEW)
    assert redis_sync.pttl(previews) == -1

    _resolve(lua, family)

    for key in (link, stats, previews):
        assert 0 < redis_sync.pttl(key) <= RETENTION_SECONDS * 1000


def test_a_days_first_view_gives_the_stats_the_links_ttl_again(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, _, _ = family
    _store(redis_sync, link)
    _resolve(lua, family)
    redis_sync.pexpire(stats, 10_000_000)  # say an edit cleared expiry and left this TTL

    _resolve(lua, family)
    assert redis_sync.pttl(stats) > 0  # the same day: not looked at again
    _resolve(lua, family, now=T0 + DAY_MS)  # a day's first view heals it

    assert redis_sync.pttl(stats) == -1


def test_revoke_gives_the_stats_keys_the_retention(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis, keys: Keys
) -> None:
    link, stats, previews, _ = family
    _store(redis_sync, link)
    _resolve(lua, family)
    _resolve(lua, family, ResolveMode.PREVIEW)

    lua("revoke_link", list(keys.link_family(CODE)), [RETENTION_SECONDS, T0])

    for key in (link, stats, previews):
        assert 0 < redis_sync.pttl(key) <= RETENTION_SECONDS * 1000


def test_ninety_days_of_views_from_ten_referrers_stay_under_2_kib(
    lua: Lua, family: tuple[str, str, str, str], redis_sync: redis.Redis
) -> None:
    link, stats, _, _ = family
    _store(redis_sync, link)

    for day in range(90):
        for n in range(10):
            device = "dmto"[n % 4]
            _resolve(lua, family, now=T0 + day * DAY_MS, host=f"ref{n}.example.com", device=device)

    assert redis_sync.hget(link, "v") == b"900"
    usage = redis_sync.memory_usage(stats, samples=0)
    assert usage is not None and usage < 2048
    print(f"stats hash after 90 days x 10 referrers: {usage} B")
