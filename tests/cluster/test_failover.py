"""Kill a primary under load: its replica takes over, and nobody restarts the services."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx

from devtools.redis_cluster import RedisClusterServers
from tests.support.stacks import StackLauncher
from tests.support.waiting import wait_until

MAX_VIEWS = 1000
FAILOVER_DEADLINE_SECONDS = 60.0


async def _load(url: str, codes: dict[str, bool], until: asyncio.Event) -> dict[str, Counter[int]]:
    """GET every code in turn until `until` is set; each answer's status and time per code."""
    seen: dict[str, Counter[int]] = {code: Counter() for code in codes}
    slow: list[tuple[str, float]] = []
    async with httpx.AsyncClient(timeout=10) as client:
        while not until.is_set():
            for code in codes:
                started = time.monotonic()
                response = await client.get(f"{url}/{code}")
                elapsed = time.monotonic() - started
                seen[code][response.status_code] += 1
                if response.status_code == 503 and elapsed > 1.0:
                    slow.append((code, elapsed))
            await asyncio.sleep(0.01)
    assert slow == []  # every 503 answered within a second
    return seen


def test_a_killed_primary_fails_over_and_its_links_come_back(tmp_path: Path) -> None:
    with RedisClusterServers(data_dir=tmp_path / "cluster", replicas=1) as cluster:
        launcher = StackLauncher(cluster.url, tmp_path / "stacks")
        try:
            stack = launcher(SECURELINK_REDIS_CLUSTER=1)
            links = [
                stack.create_link(targetUrl=f"https://example.com/{i}", maxViews=MAX_VIEWS)
                for i in range(12)
            ]
            codes = [link["shortCode"] for link in links]
            victim = cluster.primary_of(stack_key(stack.prefix, codes[0]))
            on_victim = {c: cluster.primary_of(stack_key(stack.prefix, c)) is victim for c in codes}
            assert any(not dead for dead in on_victim.values())

            async def scenario() -> tuple[dict[str, Counter[int]], float]:
                until = asyncio.Event()
                load = asyncio.create_task(_load(stack.redirector_url, on_victim, until))
                await asyncio.sleep(1)
                victim.kill()
                killed = time.monotonic()
                deadline = killed + FAILOVER_DEADLINE_SECONDS
                async with httpx.AsyncClient(timeout=10) as client:
                    while time.monotonic() < deadline:
                        answer = await client.head(f"{stack.redirector_url}/{codes[0]}")
                        if answer.status_code != 503:
                            break
                        await asyncio.sleep(0.1)
                recovered = time.monotonic() - killed
                await asyncio.sleep(1)
                until.set()
                return await load, recovered

            seen, recovered = asyncio.run(scenario())

            assert recovered < FAILOVER_DEADLINE_SECONDS
            for code, dead in on_victim.items():
                if not dead:
                    assert set(seen[code]) == {302}, (code, seen[code])
                else:
                    assert set(seen[code]) <= {302, 503}, (code, seen[code])
                    assert seen[code][302] > 0

            # The admin API asked nothing meanwhile: its first call may meet the dead node (a 503,
            # which makes redis-py read the map again); within seconds it reads the link again.
            def answered() -> httpx.Response | None:
                answer = stack.admin("GET", f"/api/v1/links/{codes[0]}")
                return None if answer.status_code == 503 else answer

            after = wait_until(answered)
            assert after is not None and after.status_code == 200
            assert after.json()["views"] <= MAX_VIEWS
            assert stack.visit("GET", f"/{codes[0]}").status_code == 302
        finally:
            launcher.stop_all()


def stack_key(prefix: str, code: str) -> str:
    from shared.keys import Keys

    return Keys(prefix).link(code)
