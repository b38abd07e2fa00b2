"""The redirector's side of stats: the keys a call records with, and totals counted in-process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis

from redirector.pipeline import ScriptPipeline
from redirector.recording import (
    DayKeys,
    Recording,
    ServiceTotals,
    totals_field,
    visitor_of,
)
from shared.endpoint import RedisEndpoint
from shared.keys import Keys
from shared.scripts import ResolveMode, ResolveStatus, load_scripts
from shared.settings import Settings
from shared.stats import TOTALS_TTL_SECONDS
from shared.store import connect

NOON = 20_500 * 86_400 + 12 * 3600  # 2026-02-16 12:00 UTC, seconds


def test_visitor_comes_from_referer_and_user_agent_headers() -> None:
    headers = [
        (b"host", b"sl.test"),
        (b"referer", b"https://user:pw@news.example:8443/a"),
        (b"user-agent", b"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X)"),
    ]

    assert visitor_of(headers) == ("news.example", "t")
    assert visitor_of([]) == ("", "o")
    assert visitor_of([(b"referer", b"\xff\xfe"), (b"user-agent", b"\xff")]) == ("*", "o")


@pytest.mark.parametrize(
    ("mode", "status", "field"),
    [
        (ResolveMode.COUNT, ResolveStatus.OK, "v"),
        (ResolveMode.COUNT_VERIFIED, ResolveStatus.OK, "v"),
        (ResolveMode.COUNT_CLICKED, ResolveStatus.OK, "v"),
        (ResolveMode.COUNT, ResolveStatus.PASSWORD_REQUIRED, None),
        (ResolveMode.COUNT, ResolveStatus.CLICK_REQUIRED, None),
        (ResolveMode.COUNT, ResolveStatus.NOT_FOUND, "n"),
        (ResolveMode.COUNT, ResolveStatus.EXPIRED, "g"),
        (ResolveMode.COUNT, ResolveStatus.EXHAUSTED, "g"),
        (ResolveMode.COUNT, ResolveStatus.REVOKED, "g"),
        (ResolveMode.PREVIEW, ResolveStatus.OK, "p"),
        (ResolveMode.PREVIEW, ResolveStatus.PASSWORD_REQUIRED, "p"),
        (ResolveMode.PREVIEW, ResolveStatus.NOT_FOUND, "n"),
        (ResolveMode.PREVIEW, ResolveStatus.REVOKED, "g"),
        (ResolveMode.PEEK, ResolveStatus.OK, None),
        (ResolveMode.PEEK, ResolveStatus.NOT_FOUND, None),
        (ResolveMode.PEEK, ResolveStatus.EXPIRED, None),
    ],
)
def test_totals_field_of_each_outcome(
    mode: ResolveMode, status: ResolveStatus, field: str | None
) -> None:
    assert totals_field(mode, status) == field


def test_day_key_turns_at_utc_midnight() -> None:
    now = [NOON - 12 * 3600 - 0.001]
    days = DayKeys(Keys("p"), clock=lambda: now[0])

    before = days.today()
    now[0] += 0.001
    after = days.today()

    assert (before, after) == ("p:totals:{2026-02-15}", "p:totals:{2026-02-16}")


def test_call_keys_with_recording_on_off_and_on_a_cluster() -> None:
    keys = Keys("p")
    days = DayKeys(keys, clock=lambda: NOON)
    single = Recording(keys, days, enabled=True, totals_in_script=True)
    cluster = Recording(keys, days, enabled=True, totals_in_script=False)
    off = Recording(keys, days, enabled=False, totals_in_script=True)

    assert single.call_keys("abcd") == [
        "p:link:{abcd}",
        "p:stats:{abcd}",
        "p:stats:{abcd}:previews",
        "p:totals:{2026-02-16}",
    ]
    assert cluster.call_keys("abcd") == single.call_keys("abcd")[:3]
    assert off.call_keys("abcd") == ["p:link:{abcd}"]


def test_service_totals_are_summed_and_written_once_a_tick(
    redis_url: str, redis_sync: redis.Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    key = keys.totals("2026-02-16")

    async def scenario() -> None:
        client = connect(Settings(redis=RedisEndpoint.from_url(redis_url)))
        totals = ServiceTotals(client, DayKeys(keys, clock=lambda: NOON), timeout=5)
        try:
            for field in ("n", "n", "v", "g", "n"):
                totals.add(field)
            await asyncio.sleep(0)  # the flush runs on the next tick
            await totals.drain()
        finally:
            await client.aclose()

    asyncio.run(scenario())

    assert redis_sync.hgetall(key) == {b"n": b"3", b"v": b"1", b"g": b"1"}
    assert TOTALS_TTL_SECONDS - 60 < redis_sync.ttl(key) <= TOTALS_TTL_SECONDS


def test_service_totals_join_the_script_pipelines_write(
    redis_url: str, redis_sync: redis.Redis, key_prefix: str
) -> None:
    """Given the redirector's pipeline, a tick's sums leave as one add_totals call beside the
    resolve_link calls queued in that tick: one write for both."""
    keys = Keys(key_prefix)
    key = keys.totals("2026-02-16")

    async def scenario() -> tuple[list[Any], int]:
        pipeline = ScriptPipeline(RedisEndpoint.from_url(redis_url), load_scripts(), timeout=5)
        totals = ServiceTotals(None, DayKeys(keys, clock=lambda: NOON), timeout=5, scripts=pipeline)
        try:
            await asyncio.gather(  # connected, and both scripts in the server's cache
                pipeline.run("add_totals", [key], [TOTALS_TTL_SECONDS]),
                pipeline.run("resolve_link", [keys.link("warm")], [int(ResolveMode.PEEK), "60"]),
            )
            writes = pipeline.writes
            for field in ("n", "v", "n"):
                totals.add(field)
            await asyncio.sleep(0)  # the totals' flush: its call is queued now
            resolved = [
                pipeline.run("resolve_link", [keys.link(f"c{i}")], [int(ResolveMode.PEEK), "60"])
                for i in range(3)
            ]
            await totals.drain()
            return await asyncio.gather(*resolved), pipeline.writes - writes
        finally:
            await pipeline.aclose()

    replies, writes = asyncio.run(scenario())

    assert replies == [[int(ResolveStatus.NOT_FOUND)]] * 3
    assert writes == 1
    assert redis_sync.hgetall(key) == {b"n": b"2", b"v": b"1"}
    assert TOTALS_TTL_SECONDS - 60 < redis_sync.ttl(key) <= TOTALS_TTL_SECONDS


def test_a_failed_totals_write_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        client = connect(Settings(redis=RedisEndpoint.from_url("redis://127.0.0.1:1/0")))
        totals = ServiceTotals(client, DayKeys(Keys("p"), clock=lambda: NOON), timeout=2)
        try:
            totals.add("n")
            await totals.drain()
        finally:
            await client.aclose()

    asyncio.run(scenario())

    assert "service totals not written (1 counts lost)" in caplog.text
