"""A healthy Redis never refuses: 1000 concurrent requests of each kind get their answers."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import httpx

from tests.support.stacks import Stack

CLIENTS = 1000
# Refusing is what these tests catch (redis-py's 100-connection pool refused at once, whatever
# the timeout); a generous timeout keeps a busy machine's slow event loop from posing as one.
PATIENT = {"SECURELINK_REDIS_TIMEOUT_MS": 10000}
PREVIEW_BOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


async def _burst(url: str, headers: dict[str, str]) -> Counter[int]:
    """CLIENTS requests released together, each on its own connection."""
    start = asyncio.Event()
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=120, headers=headers) as client:

        async def one() -> int:
            await start.wait()
            return (await client.get(url)).status_code

        tasks = [asyncio.create_task(one()) for _ in range(CLIENTS)]
        await asyncio.sleep(0)
        start.set()
        return Counter(await asyncio.gather(*tasks))


def test_1000_concurrent_admin_reads_all_answer_200(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack(**PATIENT)
    code = stack.create_link(targetUrl="https://example.com/busy")["shortCode"]

    statuses = asyncio.run(_burst(f"{stack.admin_url}/api/v1/links/{code}", stack.auth_headers))

    assert statuses == Counter({200: CLIENTS})


def test_1000_concurrent_preview_bots_and_password_forms_all_answer_200(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack(**PATIENT)
    # With maxViews a preview gets the neutral page (and a second Redis call, on the pool).
    plain = stack.create_link(targetUrl="https://example.com/preview", maxViews=5)["shortCode"]
    locked = stack.create_link(targetUrl="https://example.com/pw", password="s3cret-pass")

    previews = asyncio.run(_burst(f"{stack.redirector_url}/{plain}", {"User-Agent": PREVIEW_BOT}))
    forms = asyncio.run(_burst(f"{stack.redirector_url}/{locked['shortCode']}", {}))

    assert previews == Counter({200: CLIENTS})
    assert forms == Counter({200: CLIENTS})
    after = stack.admin("GET", f"/api/v1/links/{plain}").json()
    assert (after["views"], after["remainingViews"]) == (0, 5)
