"""Stats on a real 3-primary cluster: exact link stats in the link's slot, totals in their own."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from tests.acceptance.test_stats_race import CLIENTS, MAX_VIEWS
from tests.acceptance.test_stats_race import _race as race
from tests.support.stacks import Stack
from tests.support.waiting import wait_until

SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1"


def _totals(stack: Stack) -> dict[str, int]:
    days = stack.admin("GET", "/api/v1/stats?days=2").json()["days"]
    return {
        name: sum(day[name] for day in days) for name in ("views", "previews", "notFound", "gone")
    }


def test_racing_clients_are_counted_exactly_on_a_cluster(
    start_cluster_stack: Callable[..., Stack],
) -> None:
    stack = start_cluster_stack()
    code = stack.create_link(targetUrl="https://example.com/race", maxViews=MAX_VIEWS)["shortCode"]

    statuses = asyncio.run(race(f"{stack.redirector_url}/{code}"))

    stats = stack.admin("GET", f"/api/v1/links/{code}/stats?days=2").json()
    assert statuses == Counter({302: MAX_VIEWS, 410: CLIENTS - MAX_VIEWS})
    assert stats["views"] == MAX_VIEWS
    assert sum(day["views"] for day in stats["days"]) == MAX_VIEWS
    assert sum(stats["devices"].values()) == MAX_VIEWS
    assert sum(referrer["views"] for referrer in stats["referrers"]) == MAX_VIEWS
    # On a cluster the totals are written by the redirector a loop tick after the replies.
    wait_until(lambda: _totals(stack)["gone"] == CLIENTS - MAX_VIEWS)
    assert _totals(stack)["views"] == MAX_VIEWS


def test_previews_referrers_devices_and_totals_on_a_cluster(
    start_cluster_stack: Callable[..., Stack],
) -> None:
    stack = start_cluster_stack()
    codes = [stack.create_link(targetUrl=f"https://example.com/{i}")["shortCode"] for i in range(6)]

    for code in codes:
        stack.visit(
            "GET", f"/{code}", headers={"User-Agent": IPHONE, "Referer": "https://u@a.example:1/"}
        )
        stack.visit("GET", f"/{code}", headers={"User-Agent": SLACK})
        stack.visit("HEAD", f"/{code}")
    stack.visit("GET", "/Nosuchcode1")
    stack.visit("GET", "/no.such")

    for code in codes:
        stats = stack.admin("GET", f"/api/v1/links/{code}/stats?days=2").json()
        assert (stats["views"], stats["previews"]) == (1, 1)
        assert stats["referrers"] == [{"host": "a.example", "views": 1}]
        assert stats["devices"] == {"desktop": 0, "mobile": 1, "tablet": 0, "other": 0}
    expected = {"views": 6, "previews": 6, "notFound": 2, "gone": 0}
    wait_until(lambda: _totals(stack) == expected)
