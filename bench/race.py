"""Contenders measured in alternating rounds, compared by the median of per-round ratios.

A round runs every contender once, one after another, with the same wrk settings. The
machine's other work comes in bursts; a burst that lands on one contender's run would skew a
best-of or an average, but it moves one round's ratio only, and the median of the per-round
ratios shrugs it off. Each run also checks exactness on its own: the views the run added in
Redis must equal the 302s the process says it served in that run (requests still in flight
when wrk stops finish before either is read).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import Service, WrkResult, finish_wrk, http_get, parse, start_wrk, wrk


@dataclass(frozen=True)
class Scenario:
    """What wrk asks: one hot link, or links drawn at random from a file of codes."""

    name: str
    path: str  # appended to the service's URL
    script: str = "wrk.lua"
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    result: WrkResult
    views: int | None  # views this run added in Redis; None for an app that counts none
    served: int | None  # 302s the process counted during this run
    cpu_seconds: float | None = None  # CPU the service's processes used during this run

    @property
    def exact(self) -> bool | None:
        if self.views is None or self.served is None:
            return None
        return self.views == self.served


@dataclass
class Contender:
    name: str
    service: Service
    served: Callable[[Service], int] | None  # the process's own count of 302s served
    counts_views: bool = True
    runs: list[Run] = field(default_factory=list)
    views: Callable[[], int] | None = None  # its own store's views, when not the race's

    def median_run(self) -> Run:
        """The run of median throughput: what the table shows."""
        ordered = sorted(self.runs, key=lambda run: run.result.rate)
        return ordered[(len(ordered) - 1) // 2]

    def median_p99(self) -> float:
        return statistics.median(run.result.p99_ms for run in self.runs)


def count_endpoint(service: Service) -> int:
    """The anchors' /-/count: 302s served over the process's life."""
    return int(http_get(service.url + "/-/count")[1])


def ratios(mine: Contender, other: Contender) -> list[float]:
    """Per-round throughput ratios, mine over other."""
    return [
        a.result.rate / b.result.rate if b.result.rate else 0.0
        for a, b in zip(mine.runs, other.runs, strict=True)
    ]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def race(
    contenders: Sequence[Contender],
    scenario: Scenario,
    views: Callable[[], int],
    *,
    rounds: int,
    seconds: float,
    warmup: float,
    connections: int,
) -> None:
    """Warm every contender up, then `rounds` rounds of one run each; runs land in `runs`.

    The order turns round by round, so a place in the order (first after the pause, or after
    the heaviest contender) is no one's for good.

    `views` reads the scenario's views in Redis (all its links together), unless a contender
    reads its own (a contender on another store). Services must be started already; this only
    drives them.
    """

    def drive(contender: Contender, duration: float) -> WrkResult:
        url = contender.service.url + scenario.path
        return wrk(url, scenario.env, connections=connections, seconds=duration,
                   script=scenario.script)  # fmt: skip

    for contender in contenders:
        drive(contender, warmup)
    time.sleep(0.5)
    for round_number in range(rounds):
        # Each round starts with the next contender: no one always runs first, or last.
        turn = round_number % len(contenders)
        for contender in [*contenders[turn:], *contenders[:turn]]:
            meter = _Meter(contender, views)
            result = drive(contender, seconds)
            time.sleep(0.3)  # requests in flight when wrk stopped finish
            contender.runs.append(meter.run(result))


def race_together(
    entries: Sequence[tuple[Contender, Scenario]],
    *,
    rounds: int,
    seconds: float,
    warmup: float,
    connections: int,
) -> None:
    """Rounds in which every contender runs at the same time, each on its own links.

    For a difference of a few percent. This machine's speed moves by 10-20 % from one run to
    the next, CPU per request with it (measured: two identical redirectors raced in turns gave
    per-round ratios from 0.75 to 1.20, and a median 4 % off 1 after 30 rounds). Runs at the
    same moment share whatever the machine does then; the same two identical redirectors
    driven together stay within 3 % each round. Each wrk has its share of `connections`.

    Each contender's own `views` reads its links (they must not be shared: every run checks
    its exactness). Services must be started already.
    """
    share = max(1, connections // len(entries))

    def drive(duration: float, order: Sequence[tuple[Contender, Scenario]]) -> list[WrkResult]:
        started = [start_wrk(contender.service.url + scenario.path, scenario.env,
                             connections=share, seconds=duration, script=scenario.script)
                   for contender, scenario in order]  # fmt: skip
        return [parse(finish_wrk(process)) for process in started]

    drive(warmup, entries)
    time.sleep(0.5)
    for round_number in range(rounds):
        turn = round_number % len(entries)  # whose wrk starts first turns too
        order = [*entries[turn:], *entries[:turn]]
        meters = [_Meter(contender, None) for contender, _ in order]
        results = drive(seconds, order)
        time.sleep(0.3)
        for meter, result in zip(meters, results, strict=True):
            meter.contender.runs.append(meter.run(result))


class _Meter:
    """A contender's counts before a run, and its Run once the run's result is in."""

    def __init__(self, contender: Contender, views: Callable[[], int] | None) -> None:
        self.contender = contender
        self.read = contender.views or views
        assert self.read is not None or not contender.counts_views
        self.views = self.read() if self.read is not None and contender.counts_views else 0
        count = contender.served
        self.served = count(contender.service) if count else 0
        self.cpu = cpu_seconds(contender.service)

    def run(self, result: WrkResult) -> Run:
        contender = self.contender
        cpu_after = cpu_seconds(contender.service)
        added = None
        if contender.counts_views and self.read is not None:
            added = self.read() - self.views
        count = contender.served
        served = count(contender.service) - self.served if count else None
        cpu = None if self.cpu is None or cpu_after is None else cpu_after - self.cpu
        return Run(result, added, served, cpu)


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(service: Service) -> float | None:
    """User + system CPU of every process in the service's group (workers included), so far.

    A run's CPU per request hardly moves with what else the machine does, where its
    throughput does: it tells a cost of a few percent from noise that throughput cannot.
    """
    popen = service.process.popen if service.process is not None else None
    if popen is None:
        return None
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == popen.pid:  # fields[2]: the process group, ours by its session
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def cpu_ratios(mine: Contender, other: Contender) -> list[float]:
    """Per-round CPU per request, other's over mine: the throughput ratio a spare core gives."""
    values = []
    for a, b in zip(mine.runs, other.runs, strict=True):
        if a.cpu_seconds and b.cpu_seconds and a.result.requests and b.result.requests:
            values.append((b.cpu_seconds / b.result.requests) / (a.cpu_seconds / a.result.requests))
    return values


def ratio_line(label: str, values: Sequence[float]) -> str:
    rounds = ", ".join(f"{value:.2f}" for value in values)
    return f"{label}: per round {rounds}; median **{median(values):.2f}**"


def table(contenders: Sequence[Contender], reference: Contender) -> list[str]:
    """Markdown rows: median run, median p99, ratio to the reference, exactness of every run."""
    lines = [
        f"| app | req/s (median run) | p50 ms | p99 ms (median) | median ratio to {reference.name} "
        "| views counted / 302s served (every run) |",
        "|---|---|---|---|---|---|",
    ]
    for contender in contenders:
        run = contender.median_run()
        r = run.result
        errors = f" ({r.socket_errors} socket errors)" if r.socket_errors else ""
        if r.errors.get("status"):
            errors += f" ({r.errors['status']} non-2xx/3xx)"
        lines.append(
            f"| {contender.name} | {r.rate:,.0f}{errors} | {r.p50_ms:.2f} "
            f"| {contender.median_p99():.2f} | {median(ratios(contender, reference)):.2f} "
            f"| {exactness(contender)} |"
        )
    return lines


def exactness(contender: Contender) -> str:
    if not contender.counts_views:
        return "no Redis"
    views = sum(run.views or 0 for run in contender.runs)
    served = sum(run.served or 0 for run in contender.runs)
    checks = [run.exact for run in contender.runs]
    if any(check is None for check in checks):
        return f"{views:,} / ? (no count)"
    mark = "exact" if all(checks) else "MISMATCH"
    return f"{views:,} / {served:,} ({mark})"
