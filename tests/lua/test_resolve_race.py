"""Many connections run resolve_link at once on one link: exactly maxViews of them pass."""

from __future__ import annotations

import asyncio
from collections import Counter

import redis

from shared.endpoint import RedisEndpoint
from shared.keys import Keys
from shared.scripts import ResolveMode, ResolveStatus, ScriptRunner, load_scripts
from shared.settings import Settings
from shared.store import connect

CALLS = 300
MAX_VIEWS = 17
# The race proves exactness, not speed: 300 connections opened at once on a busy machine may
# take longer than the service's 500 ms, so this client waits as long as the settings allow.
PATIENT_MS = 60_000


def _race(url: str, key: str) -> Counter[int]:
    async def scenario() -> Counter[int]:
        client = connect(
            Settings(redis=RedisEndpoint.from_url(url), redis_timeout_ms=PATIENT_MS),
            max_connections=CALLS,
        )
        runner = ScriptRunner(client, load_scripts())
        args = [int(ResolveMode.COUNT), 60]
        try:
            replies = await asyncio.gather(
                *(runner.run("resolve_link", [key], args) for _ in range(CALLS))
            )
        finally:
            await client.aclose()
        return Counter(int(reply[0]) for reply in replies)

    return asyncio.run(scenario())


def test_racing_calls_pass_exactly_max_views_times(
    redis_url: str, redis_sync: redis.Redis, key_prefix: str
) -> None:
    key = Keys(key_prefix).link("race")
    redis_sync.hset(key, mapping={"t": "https://example.com/", "c": 1, "m": MAX_VIEWS})

    statuses = _race(redis_url, key)

    assert statuses == {ResolveStatus.OK: MAX_VIEWS, ResolveStatus.EXHAUSTED: CALLS - MAX_VIEWS}
    assert redis_sync.hget(key, "v") == str(MAX_VIEWS).encode()
