"""The command line's chart and its durations, without a server."""

from __future__ import annotations

from datetime import timedelta

import click
import pytest

from admin_api.cli import parse_duration
from admin_api.cli.render import bars


def test_the_busiest_day_fills_the_bar_and_a_quiet_day_keeps_a_sliver() -> None:
    days = [
        {"date": "2026-11-29", "views": 0},
        {"date": "2026-11-30", "views": 1},
        {"date": "2026-12-01", "views": 200},
    ]

    lines = bars(days, width=10)

    assert lines == [
        "2026-11-29            0",
        "2026-11-30 █          1",
        "2026-12-01 ██████████ 200",
    ]


def test_a_window_without_views_draws_empty_bars() -> None:
    assert bars([{"date": "2026-12-01", "views": 0}], width=4) == ["2026-12-01      0"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("7d", 604800), ("1h30m", 5400)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "2", "h2", "2h ", "0s", "-1h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_duration(text)


def test_the_cli_imports_nothing_of_the_server() -> None:
    import subprocess
    import sys

    code = (
        "import sys, admin_api.cli; print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('starlette', 'redis', 'uvicorn', 'argon2', 'shared')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert result.stdout.strip() == "[]", result.stderr
