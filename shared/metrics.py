"""Prometheus metrics of a service, summed over all of its worker processes.

uvicorn's workers are separate processes, and a scrape reaches one of them. So, when
`PROMETHEUS_MULTIPROC_DIR` is set (the launcher, shared/cli.py, gives each service a directory
of its own, emptied at start), prometheus-client keeps every worker's values in memory-mapped
files there, and a scrape of any worker reads all of them: the sum for the whole service.
Without it (an app inside a test, or an embedding), each app has a registry of its own.

Every metric is declared here, once. Label values come from small fixed sets (outcomes, route
templates, status codes, exception class names), never from a path or a code.

Counters and histograms of a worker that died stay in the sum (what it counted happened); its
live gauges must leave it. A worker that stops cleanly marks itself dead (`Metrics.close`); one
that is killed is marked dead by the supervisor that notices it gone (shared/workers.py), and,
for any other server's supervisor (granian's), by the next worker that starts:
`forget_dead_workers`.
"""

from __future__ import annotations

import os
import re
import struct
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.routing import BaseRoute, Mount, Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import CLIENT_LEFT
from shared.logs import new_request_id, request_id

# Latency buckets in seconds, finer below 10 ms where a redirect's answer lives.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
# Scope key of when a request began, set by a handler in front of the app (the hot path).
STARTED = "securelink.started"
# The status label of a request whose client left before it was answered (nginx's 499).
CLIENT_CLOSED_REQUEST = 499
UNMATCHED = "unmatched"  # the template of a path no route knows (its 404 or 405)
# prometheus-client's own variable (shared/cli.py names it too, without importing this module).
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# The file names of live gauges in PROMETHEUS_MULTIPROC_DIR: gauge_<mode>_<pid>.db.
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]*_(\d+)\.db$")
_swept_in: set[int] = set()  # the process ids that have run forget_dead_workers


def forget_dead_workers(directory: str | os.PathLike[str]) -> list[int]:
    """Mark dead every process whose live gauges are in `directory` but which no longer runs.

    Runs once in a process, before its first gauge opens its file. A file of this very process
    id was left by a dead worker whose id was reused: it goes too. A file of a process id that
    runs is kept, even when that process is not one of ours (an id reused by some other
    program): a stale gauge is the lesser harm than forgetting a live worker's. The ids marked.
    """
    pid = os.getpid()
    if pid in _swept_in:
        return []
    _swept_in.add(pid)
    dead: set[int] = set()
    for name in os.listdir(directory):
        found = _LIVE_GAUGE_FILE.match(name)
        if found and (int(found[1]) == pid or not _runs(int(found[1]))):
            dead.add(int(found[1]))
    for gone in sorted(dead):
        mark_process_dead(gone, str(directory))  # type: ignore[no-untyped-call]
    return sorted(dead)


def _runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


class Metrics:
    """The metrics of one service; `service` is a label on every sample."""

    def __init__(self, service: str) -> None:
        self.service = service
        # prometheus-client chose its value store when first imported, from the environment.
        self.multiprocess = values.ValueClass is not values.MutexValue
        if self.multiprocess:
            forget_dead_workers(os.environ[MULTIPROC_DIR])
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` gauges: multiprocess mode has none either
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.resolutions = Counter(
            "securelink_resolutions_total",
            "Outcomes of the redirector's resolve_link calls",
            ["service", "outcome"],
            registry=registry,
        )
        self.links_created = Counter(
            "securelink_links_created_total",
            "Links created by the admin API, by kind",
            ["service", "kind"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "securelink_request_duration_seconds",
            "Time to answer a request, by route template and status",
            ["service", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.redis_errors = Counter(
            "securelink_redis_errors_total",
            "Redis calls that failed, by exception class",
            ["service", "kind"],
            registry=registry,
        )
        self.pipeline_batch_size = Histogram(
            "securelink_pipeline_batch_size",
            "Script calls written to Redis in one write by the redirector's pipeline",
            ["service"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        # A live gauge: the sum over the workers that run now, so a dead one leaves it.
        self.worker_processes = Gauge(
            "securelink_worker_processes",
            "Worker processes of the service that are running",
            ["service"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.worker_processes.labels(service).set(1)
        self._children: dict[tuple[str, str], Any] = {}

    def resolution(self, outcome: str) -> Any:
        """The counter of one outcome, bound once: the hot path calls only its inc()."""
        child = self._children.get(("resolution", outcome))
        if child is None:
            child = self._children["resolution", outcome] = self.resolutions.labels(
                self.service, outcome
            )
        return child

    def resolved(self, outcome: str) -> None:
        self.resolution(outcome).inc()

    def created(self, kind: str, count: int = 1) -> None:
        """Links of one kind created: a batch counts its links at once."""
        child = self._children.get(("created", kind))
        if child is None:
            child = self._children["created", kind] = self.links_created.labels(self.service, kind)
        child.inc(count)

    def redis_error(self, exc: BaseException) -> None:
        self.redis_errors.labels(self.service, type(exc).__name__).inc()

    def duration(self, route: str, status: int) -> Any:
        """The latency histogram of one route template and status."""
        key = (route, str(status))
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.request_duration.labels(self.service, *key)
        return child

    def batch_sizes(self) -> Any:
        return self.pipeline_batch_size.labels(self.service)

    def close(self) -> None:
        """A worker that stops marks itself dead: its live gauges leave the sum, counters stay."""
        if self.multiprocess:
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def render(self) -> bytes:
        """The Prometheus text: every worker's sum in multiprocess mode, else this app's."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


_pack_double = struct.Struct("d").pack


def hot_increment(counter: Any) -> Callable[[], None]:
    """A counter child's inc() for the hot path: in multiprocess mode, straight to its slot.

    prometheus-client's own inc() takes a lock and re-checks the process id on every call,
    about 1 us; a redirect costs about 35 us in all. Only the event loop's thread writes these
    values (hashing threads never count), so the slot is written directly, as inc() would.
    Without its memory-mapped store (one process, or a library that changed), inc() it is.
    """
    write = _slot_writer(getattr(counter, "_value", None))
    if write is None:
        inc: Callable[[], None] = counter.inc
        return inc
    return lambda: write(1.0)


def hot_observe(histogram: Any) -> Callable[[float], None]:
    """A histogram child's observe() for the hot path, written like hot_increment's."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = [_slot_writer(bucket) for bucket in getattr(histogram, "_buckets", [])]
    add_sum = _slot_writer(getattr(histogram, "_sum", None))
    if bounds is None or add_sum is None or not buckets or None in buckets:
        observe: Callable[[float], None] = histogram.observe
        return observe
    writers: list[Callable[[float], None]] = [write for write in buckets if write is not None]

    def observe_directly(amount: float) -> None:
        add_sum(amount)
        writers[bisect_left(bounds, amount)](1.0)  # the first bucket whose bound >= amount

    return observe_directly


def _slot_writer(value: Any) -> Callable[[float], None] | None:
    """Adds to one memory-mapped value as prometheus-client's MmapedValue.inc does, cheaper.

    inc() writes the value and its timestamp through MmapedDict.write_value: a dict lookup and
    two calls to pack 16 bytes. A counter's or a histogram's timestamp is always 0.0 (written
    when its slot was made), and a slot never moves, so this writes the value's 8 bytes at
    its known place. The file's current map is read at each write: a new slot may have grown
    the file and mapped it again.
    """
    file: Any = getattr(value, "_file", None)
    key, positions = getattr(value, "_key", None), getattr(file, "_positions", None)
    if key is None or not isinstance(positions, dict) or key not in positions:
        return None
    if not hasattr(file, "_m"):
        return None
    start = positions[key]
    end = start + 8

    def add(amount: float) -> None:
        total = value._value + amount
        value._value = total
        file._m[start:end] = _pack_double(total)

    return add


def route_templates(routes: Iterable[BaseRoute], prefix: str = "") -> list[tuple[Any, str]]:
    """(path regex, template) of every route, mounts flattened, in routing order."""
    found: list[tuple[Any, str]] = []
    for route in routes:
        if isinstance(route, Mount):
            found += route_templates(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            template = prefix + route.path
            found.append((compile_path(template)[0], template))
    return found


class RequestTimer:
    """Observes every request's latency under its route template and status, and gives the
    request an id for the log lines written while it runs (a sane `X-Request-Id`, else new)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = route_templates(routes)

    def template(self, path: str) -> str:
        for pattern, template in self.templates:
            if pattern.match(path):
                return template
        return UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = scope.get(STARTED) or time.perf_counter()
        status = 500
        request_id.set(_incoming_id(scope) or new_request_id())

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            elapsed = time.perf_counter() - started
            if scope.get(CLIENT_LEFT):
                status = CLIENT_CLOSED_REQUEST  # not the 500 that nobody answered
            self.metrics.duration(self.template(scope["path"]), status).observe(elapsed)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if 0 < len(text) <= 64 and all(c.isalnum() or c in "-_." for c in text):
                return text
            return None
    return None
