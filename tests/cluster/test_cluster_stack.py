"""Both services as processes on a real 3-primary cluster: the contract's answers, exact counts."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from tests.acceptance.test_concurrency import PATIENT, PREVIEW_BOT
from tests.acceptance.test_concurrency import _burst as burst
from tests.acceptance.test_redirects_race import _race as race
from tests.support.stacks import Stack

LINKS = 30


def test_500_racing_clients_get_exactly_max_views_redirects(
    start_cluster_stack: Callable[..., Stack],
) -> None:
    stack = start_cluster_stack()
    link = stack.create_link(targetUrl="https://example.com/race", maxViews=50)

    statuses = asyncio.run(race(f"{stack.redirector_url}/{link['shortCode']}"))

    after = stack.admin("GET", f"/api/v1/links/{link['shortCode']}").json()
    assert statuses == Counter({302: 50, 410: 450})
    assert (after["views"], after["status"]) == (50, "exhausted")


def test_links_on_every_primary_redirect_list_and_revoke(
    start_cluster_stack: Callable[..., Stack],
) -> None:
    stack = start_cluster_stack()
    codes = [
        stack.create_link(targetUrl=f"https://example.com/{i}")["shortCode"] for i in range(LINKS)
    ]

    locations = [stack.visit("GET", f"/{code}").headers["location"] for code in codes]
    revoked = stack.admin("POST", f"/api/v1/links/{codes[0]}/revoke")
    gone = stack.visit("GET", f"/{codes[0]}", headers={"Accept": "application/json"})
    listed = stack.admin("GET", "/api/v1/links", params={"limit": 100}).json()

    assert locations == [f"https://example.com/{i}" for i in range(LINKS)]
    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    assert gone.status_code == 410
    assert {item["shortCode"] for item in listed["items"]} == set(codes)
    views = {item["shortCode"]: item["views"] for item in listed["items"]}
    assert views == dict.fromkeys(codes, 1)


def test_1000_concurrent_admin_reads_and_preview_bots_all_answer_200(
    start_cluster_stack: Callable[..., Stack],
) -> None:
    stack = start_cluster_stack(**PATIENT)
    code = stack.create_link(targetUrl="https://example.com/busy", maxViews=5)["shortCode"]

    reads = asyncio.run(burst(f"{stack.admin_url}/api/v1/links/{code}", stack.auth_headers))
    previews = asyncio.run(burst(f"{stack.redirector_url}/{code}", {"User-Agent": PREVIEW_BOT}))

    assert reads == Counter({200: 1000})
    assert previews == Counter({200: 1000})
