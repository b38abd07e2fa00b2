"""The benchmark's pieces, without a benchmark: wrk's report, the table rows, the anchor apps."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from bench import bare_app
from bench.procs import BENCH, WrkResult, parse
from bench.run import Row, fmt_row

REPORT = {
    "requests": 50_000,
    "duration_us": 2_000_000,
    "p50": 2_500,
    "p90": 4_000,
    "p99": 9_000,
    "max": 20_000,
    "connect": 0,
    "read": 1,
    "write": 0,
    "status": 3,
    "timeout": 2,
}


def test_a_wrk_report_becomes_rate_and_milliseconds() -> None:
    result = parse(REPORT)

    assert result.rate == 25_000
    assert (result.p50_ms, result.p99_ms) == (2.5, 9.0)
    assert result.socket_errors == 3


def test_a_row_shows_its_share_of_the_bare_app_and_whether_counts_match() -> None:
    result = WrkResult(20_000, 1.0, 2.0, 3.0, 4.5, {"status": 0})

    exact = fmt_row(Row("redirector", result, views=120, served=120), bare=25_000)
    off = fmt_row(Row("naive", result, views=121, served=120), bare=25_000)

    assert exact == "| redirector | 20,000 | 2.00 | 4.50 | 0.80 | 120 / 120 (exact) |"
    assert off.endswith("| 121 / 120 (MISMATCH) |")


def test_the_bare_anchor_answers_302_and_counts_it() -> None:
    async def scenario() -> tuple[httpx.Response, str]:
        transport = httpx.ASGITransport(app=bare_app.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            redirect = await client.get("/abcd1234")
            count = (await client.get("/-/count")).text
        return redirect, count

    before = bare_app.served
    redirect, count = asyncio.run(scenario())

    assert redirect.status_code == 302
    assert redirect.headers["cache-control"] == "private, no-store"
    assert int(count) == before + 1


@pytest.mark.skipif(shutil.which("luajit") is None, reason="luajit checks the wrk scripts")
@pytest.mark.parametrize("script", ["wrk.lua", "exact.lua"])
def test_the_wrk_scripts_compile(script: str) -> None:
    result = subprocess.run(
        ["luajit", "-bl", str(BENCH / script)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr


def test_scripts_bench_is_executable() -> None:
    path = Path(__file__).resolve().parents[2] / "scripts" / "bench"

    assert os.access(path, os.X_OK)
