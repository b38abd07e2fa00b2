"""Prometheus text from prometheus-client: HELP and TYPE once per metric, one line per labels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from starlette.routing import Mount, Route

from shared.metrics import UNMATCHED, Metrics, RequestTimer


async def _nothing(*args: object) -> None:
    return None


def _text(metrics: Metrics) -> str:
    return metrics.render().decode()


def test_counters_render_in_prometheus_text_format() -> None:
    metrics = Metrics("redirector")

    metrics.resolved("ok")
    metrics.resolved("ok")
    for _ in range(3):
        metrics.resolved("not_found")

    text = _text(metrics)
    assert text.count("# HELP securelink_resolutions_total ") == 1
    assert "# TYPE securelink_resolutions_total counter\n" in text
    assert 'securelink_resolutions_total{outcome="not_found",service="redirector"} 3.0\n' in text
    assert 'securelink_resolutions_total{outcome="ok",service="redirector"} 2.0\n' in text


def test_declared_counter_without_counts_still_has_its_help() -> None:
    metrics = Metrics("admin_api")

    text = _text(metrics)

    assert "# HELP securelink_links_created_total Links created by the admin API, by kind\n" in text
    assert "# TYPE securelink_links_created_total counter\n" in text
    assert "securelink_links_created_total{" not in text


def test_two_apps_in_one_process_count_apart() -> None:
    first, second = Metrics("redirector"), Metrics("redirector")

    first.resolved("ok")

    assert 'outcome="ok",service="redirector"} 1.0' in _text(first)
    assert 'outcome="ok",' not in _text(second)


def test_latency_is_labelled_by_route_template_never_the_raw_path() -> None:
    api = [Route("/links/batch", _nothing), Route("/links/{code}", _nothing)]
    routes = [Route("/-/healthz", _nothing), Mount("/api/v1", routes=api)]
    timer = RequestTimer(_nothing, metrics=Metrics("admin_api"), routes=routes)

    assert timer.template("/api/v1/links/Xk3p9QaZ2m") == "/api/v1/links/{code}"
    assert timer.template("/api/v1/links/batch") == "/api/v1/links/batch"
    assert timer.template("/-/healthz") == "/-/healthz"
    assert timer.template("/nowhere/Xk3p9QaZ2m") == UNMATCHED


def test_histograms_carry_route_and_status() -> None:
    metrics = Metrics("redirector")

    metrics.duration("/{code}", 302).observe(0.002)
    metrics.batch_sizes().observe(7)

    text = _text(metrics)
    assert (
        'securelink_request_duration_seconds_bucket{le="0.0025",route="/{code}",service="redirector",'
        'status="302"} 1.0' in text
    )
    assert 'securelink_request_duration_seconds_count{route="/{code}",service="redirector",' in text
    assert 'securelink_pipeline_batch_size_bucket{le="8.0",service="redirector"} 1.0' in text


_SAME_AS_THE_LIBRARY = """
from shared.metrics import Metrics, hot_increment, hot_observe
hot, library = Metrics("redirector"), Metrics("admin_api")
assert hot.multiprocess
count, observe = hot_increment(hot.resolution("ok")), hot_observe(hot.duration("/{code}", 302))
def both(amounts):
    for amount in amounts:
        count()
        observe(amount)
        library.resolution("ok").inc()
        library.duration("/{code}", 302).observe(amount)
both((0.0001, 0.0005, 0.002))
# Slots made after the writers were bound grow the files past their first map (1 MiB), which
# prometheus-client then maps again: the writers must write into the new map.
import os, glob
for i in range(600):
    hot.duration(f"/grown/{i}", 200), library.duration(f"/grown/{i}", 200)
files = glob.glob(os.environ["PROMETHEUS_MULTIPROC_DIR"] + "/*.db")
assert max(os.path.getsize(name) for name in files) > 1 << 20
both((0.7, 10.0, 99.0))
text = hot.render().decode()
lines = sorted(line for line in text.splitlines() if "service=" in line and "/grown/" not in line)
print("\\n".join(lines))
"""


def test_the_hot_paths_direct_writes_add_up_as_the_librarys_own(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    result = subprocess.run(
        [sys.executable, "-c", _SAME_AS_THE_LIBRARY], env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    hot = [line for line in lines if 'service="redirector"' in line]
    library = [line.replace("admin_api", "redirector") for line in lines if "admin_api" in line]
    assert hot == library
    assert 'securelink_resolutions_total{outcome="ok",service="redirector"} 6.0' in hot
    assert (
        'securelink_request_duration_seconds_bucket{le="0.0005",route="/{code}",'
        'service="redirector",status="302"} 2.0' in hot
    )


_SWEEP = """
import json, os, subprocess, sys
from pathlib import Path

directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
dead = subprocess.Popen([sys.executable, "-c", ""])
dead.wait()
live = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
for pid in (dead.pid, live.pid, os.getpid()):
    (directory / f"gauge_livesum_{pid}.db").write_bytes(b"")
    (directory / f"counter_{pid}.db").write_bytes(b"")
from shared.metrics import Metrics, forget_dead_workers

marked = forget_dead_workers(directory)
again = forget_dead_workers(directory)
Metrics("redirector")  # its gauge opens a file of its own, after the sweep
live.communicate(b"\\n")
print(json.dumps({
    "marked": marked,
    "again": again,
    "ids": {"dead": dead.pid, "live": live.pid, "own": os.getpid()},
    "files": sorted(p.name for p in directory.iterdir()),
    "own_gauge_bytes": (directory / f"gauge_livesum_{os.getpid()}.db").stat().st_size,
}))
"""


def test_a_starting_worker_forgets_the_live_gauges_of_workers_that_no_longer_run(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    result = subprocess.run([sys.executable, "-c", _SWEEP], env=env, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    dead, live, own = found["ids"]["dead"], found["ids"]["live"], found["ids"]["own"]
    # The dead worker's gauges go, and those an earlier holder of this process id left; a
    # running process keeps its own; counters stay, each process's once.
    assert found["marked"] == sorted([dead, own])
    assert found["again"] == []
    assert found["files"] == sorted(
        [f"counter_{pid}.db" for pid in (dead, live, own)]
        + [f"gauge_livesum_{pid}.db" for pid in (live, own)]
    )
    assert found["own_gauge_bytes"] > 0  # written by this worker's Metrics, not the old empty one
