"""A 2-worker redirector whose worker is SIGKILLed: the supervisor replaces it and marks it dead
in the metrics, so live gauges count running workers only while counters keep every redirect."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.acceptance.test_metrics_and_logs import HOT_COUNT, OK_LINE, _fresh_connection_get
from tests.support.stacks import Service, Stack

T = TypeVar("T")
REDIRECTS = 100  # before the kill, and as many after it
SCRAPES = 10
WAIT_SECONDS = 30.0
WORKERS_LINE = re.compile(r'^securelink_worker_processes\{service="redirector"\} (\S+)$', re.M)
STARTED = "Application startup complete."


def _eventually(check: Callable[[], T | None], what: str, output: Callable[[], str]) -> T:
    """Poll until `check` returns something; a generous deadline, never a sleep as a wait."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = check()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"{what} within {WAIT_SECONDS:g} s\n{output()}"
        time.sleep(0.05)


def _workers(service: Service) -> set[int]:
    """The supervisor's worker processes (multiprocessing's resource tracker is not one)."""
    assert service.process is not None
    pid = service.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = set()
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        if b"spawn_main" in command:
            workers.add(child)
    return workers


def _scrapes(stack: Stack) -> list[str]:
    """Scrapes on fresh connections, so the kernel hands them to either worker."""
    return [_fresh_connection_get(f"{stack.redirector_url}/-/metrics").text for _ in range(SCRAPES)]


def _figures(text: str) -> tuple[list[str], list[str], list[str]]:
    return WORKERS_LINE.findall(text), OK_LINE.findall(text), HOT_COUNT.findall(text)


def test_a_killed_worker_leaves_the_live_gauges_and_its_counts_stay(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack(SECURELINK_WORKERS=2, SECURELINK_LOG_LEVEL="info")
    redirector = stack.services[1]
    code = stack.create_link(targetUrl="https://example.com/k")["shortCode"]
    url = f"{stack.redirector_url}/{code}"
    # Both workers have started (each counts itself in the gauge once its app is built).
    _eventually(
        lambda: redirector.output().count(STARTED) == 2 or None,
        "both workers started",
        stack.output,
    )
    workers = _workers(redirector)
    assert len(workers) == 2, stack.output()

    before = [_fresh_connection_get(url).status_code for _ in range(REDIRECTS)]
    # A worker counts a redirect just before answering it and times it just after: wait until
    # every figure is written, so the kill loses none.
    _eventually(
        lambda: (
            _figures(_scrapes(stack)[0])[1:] == ([f"{REDIRECTS}.0"], [f"{REDIRECTS}.0"]) or None
        ),
        "the first redirects counted",
        stack.output,
    )
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    replacement = _eventually(
        lambda: next(iter(_workers(redirector) - workers), None),
        "a replacement worker",
        stack.output,
    )
    _eventually(
        lambda: redirector.output().count(STARTED) == 3 or None,
        "the replacement started",
        stack.output,
    )
    after_kill = [_figures(text) for text in _scrapes(stack)]
    after = [_fresh_connection_get(url).status_code for _ in range(REDIRECTS)]
    final = [_figures(text) for text in _scrapes(stack)]

    assert before == after == [302] * REDIRECTS
    assert _workers(redirector) == (workers - {victim}) | {replacement}
    assert after_kill == [(["2.0"], [f"{REDIRECTS}.0"], [f"{REDIRECTS}.0"])] * SCRAPES
    total = f"{2 * REDIRECTS}.0"
    assert final == [(["2.0"], [total], [total])] * SCRAPES
    assert f"Marked worker process [{victim}] dead in the metrics" in redirector.output()
