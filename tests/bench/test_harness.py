"""The benchmark's pieces, without a benchmark: wrk's report, the table rows, the anchor apps."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import redis

from bench import bare_app
from bench import race as race_module
from bench.procs import BENCH, Service, WrkResult, node_anchor, parse, prepare_node_anchor
from bench.race import Contender, Run, Scenario, race_together, ratio_line, ratios, table
from devtools.redis_server import free_port

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
@pytest.mark.parametrize("script", ["wrk.lua", "exact.lua", "random.lua"])
def test_the_wrk_scripts_compile(script: str) -> None:
    result = subprocess.run(
        ["luajit", "-bl", str(BENCH / script)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr


def test_scripts_bench_is_executable() -> None:
    path = Path(__file__).resolve().parents[2] / "scripts" / "bench"

    assert os.access(path, os.X_OK)


needs_node = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="the Node anchor needs node and npm",
)


@needs_node
def test_the_node_anchor_installs_and_answers_like_the_redirector(
    redis_url: str, redis_sync: redis.Redis, key_prefix: str, tmp_path: Path
) -> None:
    assert prepare_node_anchor() is None  # npm ci of the pinned packages, or already installed
    link = f"{key_prefix}:link:{{abcd1234}}"
    redis_sync.hset(link, mapping={"t": "https://example.com/a", "m": "2"})
    redis_sync.hset(f"{key_prefix}:link:{{gone1234}}", mapping={"t": "https://e.x", "r": "1"})
    env = {"BENCH_REDIS_URL": redis_url, "BENCH_KEY_PREFIX": key_prefix}

    with node_anchor(free_port(), tmp_path, env) as anchor:
        head = httpx.head(f"{anchor.url}/abcd1234")
        first = httpx.get(f"{anchor.url}/abcd1234", headers={"Referer": "https://News.example/"})
        second = httpx.get(f"{anchor.url}/abcd1234")
        exhausted = httpx.get(f"{anchor.url}/abcd1234")
        revoked = httpx.get(f"{anchor.url}/gone1234")
        unknown = httpx.get(f"{anchor.url}/nope1234")
        served = httpx.get(f"{anchor.url}/-/count").text

    assert head.status_code == 302
    assert [first.status_code, second.status_code] == [302, 302]
    assert first.headers["location"] == "https://example.com/a"
    assert first.headers["cache-control"] == "private, no-store"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["referrer-policy"] == "no-referrer"
    assert first.headers["content-length"] == "0"
    assert (exhausted.status_code, revoked.status_code, unknown.status_code) == (410, 410, 404)
    assert "reached its view limit" in exhausted.text
    assert served == "2"
    assert redis_sync.hget(link, "v") == b"2"  # the HEAD counted nothing
    referrers = redis_sync.hget(f"{key_prefix}:stats:{{abcd1234}}", "rnews.example")
    assert referrers == b"1"  # stats recorded by our own script, as the redirector sends them


def test_a_race_table_shows_medians_ratios_and_whether_every_run_was_exact() -> None:
    def run(rate: int, p99: float, views: int | None, served: int | None) -> Run:
        return Run(WrkResult(rate, 1.0, 2.0, 3.0, p99, {"status": 0}), views, served)

    service = Service("x", [], 1, Path("."))
    bare = Contender("bare", service, None, counts_views=False)
    bare.runs = [run(20_000, 4.0, None, None), run(10_000, 5.0, None, None)]
    mine = Contender("mine", service, None)
    mine.runs = [run(15_000, 3.0, 120, 120), run(9_000, 6.0, 80, 80)]
    off = Contender("off", service, None)
    off.runs = [run(10_000, 3.0, 121, 120), run(10_000, 3.0, 50, 50)]

    lines = table([bare, mine, off], bare)

    assert lines[2] == "| bare | 10,000 | 2.00 | 4.50 | 1.00 | no Redis |"
    assert lines[3] == "| mine | 9,000 | 2.00 | 4.50 | 0.82 | 200 / 200 (exact) |"
    assert lines[4].endswith("| 171 / 170 (MISMATCH) |")
    assert ratios(mine, bare) == [0.75, 0.9]
    assert ratio_line("mine / bare", ratios(mine, bare)) == (
        "mine / bare: per round 0.75, 0.90; median **0.82**"
    )


def test_racing_together_starts_every_wrk_before_any_finishes_and_checks_each_own_links(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []
    views = {"a": 0, "b": 0}

    class FakeWrk:
        def __init__(self, url: str, connections: int, seconds: float) -> None:
            self.name = url.rsplit("/", 1)[1]
            events.append(f"start {self.name} c{connections} {seconds:g}s")

        def finish(self) -> dict[str, int]:
            events.append(f"finish {self.name}")
            views[self.name] += 7  # what this run of its own link added
            return {**REPORT, "requests": 7}

    def start(url: str, env: object, *, connections: int, seconds: float, script: str) -> FakeWrk:
        return FakeWrk(url, connections, seconds)

    monkeypatch.setattr(race_module, "start_wrk", start)
    monkeypatch.setattr(race_module, "finish_wrk", FakeWrk.finish)
    monkeypatch.setattr("bench.race.time.sleep", lambda seconds: None)
    service = Service("x", [], 1, Path("."))
    a = Contender("a", service, lambda service: views["a"], views=lambda: views["a"])
    b = Contender("b", service, None, views=lambda: views["b"])

    race_together([(a, Scenario("a", "/a")), (b, Scenario("b", "/b"))],
                  rounds=2, seconds=3, warmup=1, connections=64)  # fmt: skip

    assert events == [
        "start a c32 1s", "start b c32 1s", "finish a", "finish b",  # the warm-up
        "start a c32 3s", "start b c32 3s", "finish a", "finish b",
        "start b c32 3s", "start a c32 3s", "finish b", "finish a",  # b's wrk starts first
    ]  # fmt: skip
    assert [(run.views, run.served, run.exact) for run in a.runs] == [(7, 7, True)] * 2
    assert [(run.views, run.served, run.exact) for run in b.runs] == [(7, None, None)] * 2
