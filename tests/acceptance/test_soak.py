"""scripts/soak: a short run passes, and its accounting catches miscounts."""

from __future__ import annotations

import subprocess

from bench.soak import Tracked, find_violations
from tests.support.stacks import ROOT


def test_five_second_soak_sees_no_5xx_and_exact_view_counts() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "soak"), "--seconds", "5", "--clients", "20", "--seed", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "5xx answers: 0" in result.stdout
    assert "OK: zero 5xx; for every link, views counted == redirects served <= maxViews" in (
        result.stdout
    )


def test_soak_accounting_reports_miscounts_overruns_and_lost_links() -> None:
    links = [
        Tracked("exact", max_views=3, password=None, served=3),
        Tracked("miscount", max_views=None, password=None, served=4),
        Tracked("overrun", max_views=2, password="pw", served=3),
        Tracked("lost", max_views=None, password=None, served=0),
    ]
    views: dict[str, int | None] = {"exact": 3, "miscount": 5, "overrun": 3, "lost": None}

    violations = find_violations(links, views)

    assert violations == [
        "miscount: 5 views counted, 4 served",
        "overrun: 3 views counted, maxViews 2",
        "lost: created (201) but not found afterwards",
    ]
