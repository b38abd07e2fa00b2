"""500 clients race for a link with maxViews 50 on the real redirector: exactly 50 pass."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from tests.support.stacks import Stack

CLIENTS = 500
MAX_VIEWS = 50


async def _race(url: str) -> Counter[int]:
    start = asyncio.Event()
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one() -> int:
            await start.wait()
            response = await client.get(url)
            return response.status_code

        tasks = [asyncio.create_task(one()) for _ in range(CLIENTS)]
        await asyncio.sleep(0)  # every task is waiting at the start line
        start.set()
        return Counter(await asyncio.gather(*tasks))


@pytest.mark.parametrize("workers", [1, 2])
def test_500_racing_clients_get_exactly_max_views_redirects(
    start_stack: Callable[..., Stack], workers: int
) -> None:
    stack = start_stack(SECURELINK_WORKERS=workers)
    link = stack.create_link(targetUrl="https://example.com/race", maxViews=MAX_VIEWS)
    started = time.monotonic()

    statuses = asyncio.run(_race(f"{stack.redirector_url}/{link['shortCode']}"))

    elapsed = time.monotonic() - started
    after = stack.admin("GET", f"/api/v1/links/{link['shortCode']}").json()
    assert statuses == Counter({302: MAX_VIEWS, 410: CLIENTS - MAX_VIEWS})
    assert (after["views"], after["remainingViews"], after["status"]) == (50, 0, "exhausted")
    assert elapsed < 30
