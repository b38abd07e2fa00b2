"""300 clients race for a maxViews 40 link on the real redirector: 40 in every stats count."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import httpx

from tests.support.stacks import Stack

CLIENTS = 300
MAX_VIEWS = 40
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) Mobile/15E148 Safari/604.1",
    "curl/8.5.0",
]
REFERERS = ["https://a.example/x", "https://user@b.example:8443/", ""]


async def _race(url: str) -> Counter[int]:
    start = asyncio.Event()
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one(n: int) -> int:
            headers = {"User-Agent": USER_AGENTS[n % 4]}
            if REFERERS[n % 3]:
                headers["Referer"] = REFERERS[n % 3]
            await start.wait()
            response = await client.get(url, headers=headers)
            return response.status_code

        tasks = [asyncio.create_task(one(n)) for n in range(CLIENTS)]
        await asyncio.sleep(0)
        start.set()
        return Counter(await asyncio.gather(*tasks))


def test_racing_clients_are_counted_exactly_in_the_links_stats(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()
    code = stack.create_link(targetUrl="https://example.com/race", maxViews=MAX_VIEWS)["shortCode"]

    statuses = asyncio.run(_race(f"{stack.redirector_url}/{code}"))

    stats = stack.admin("GET", f"/api/v1/links/{code}/stats?days=2").json()  # 2: UTC midnight
    days = stack.admin("GET", "/api/v1/stats?days=2").json()["days"]
    assert statuses == Counter({302: MAX_VIEWS, 410: CLIENTS - MAX_VIEWS})
    assert stats["views"] == MAX_VIEWS
    assert sum(day["views"] for day in stats["days"]) == MAX_VIEWS
    assert sum(stats["devices"].values()) == MAX_VIEWS
    assert sum(referrer["views"] for referrer in stats["referrers"]) == MAX_VIEWS
    assert {referrer["host"] for referrer in stats["referrers"]} <= {"a.example", "b.example", None}
    assert sum(day["views"] for day in days) == MAX_VIEWS
    assert sum(day["gone"] for day in days) == CLIENTS - MAX_VIEWS
