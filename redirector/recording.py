"""Stats on the redirector: what resolve_link is given so the call that counts a view records it.

A view's stats (its UTC day, referrer host, device class) are written by the same script call
that counts it: no second round trip, and exact under races, since the count and the stats
change in one atomic step. The link's stats keys carry its hash tag, so that holds on Redis
Cluster too. The Python side only reads two headers, cheaply (redirector/visitors.py).

The service's per-day totals (views, previews, 404s, 410s) are one hash a day with a hash tag
of its own. On a single server the script is given today's totals hash as one more key, so a
404 or a 410 is counted in the call that found it, at no cost. On Redis Cluster that key sits
in another slot and cannot join the call: there, and for a 404 answered without any call (a
code that cannot exist), ServiceTotals counts in the process and sends the sums once a loop
tick, after the replies, as one add_totals call in the script pipeline's next write (beside
that tick's resolve_link calls): no write of their own under load, not one a request, and none
on the path a response waits for. A write that fails loses those counts (logged):
the totals are a dashboard, the link's own stats are the exact record.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from redirector.visitors import device_class, referrer_host
from shared.keys import Keys
from shared.scripts import ResolveMode, ResolveStatus
from shared.stats import TOTALS_TTL_SECONDS, day_date

logger = logging.getLogger("securelink")

Visitor = tuple[str, str]  # (referrer host, device class letter): ARGV[4] and ARGV[5]
NO_VISITOR: Visitor = ("", "o")
_DAY_SECONDS = 86_400

# The totals field a script outcome counts in; PEEK (HEAD, the password form) counts nothing.
_GONE = {ResolveStatus.EXPIRED, ResolveStatus.EXHAUSTED, ResolveStatus.REVOKED}
_SEEN = {ResolveStatus.OK, ResolveStatus.PASSWORD_REQUIRED, ResolveStatus.CLICK_REQUIRED}


def visitor_of(headers: Iterable[tuple[bytes, bytes]]) -> Visitor:
    """The referrer host and device class of a request, from its raw ASGI headers."""
    referer = user_agent = b""
    for name, value in headers:
        if name == b"referer":
            referer = value
        elif name == b"user-agent":
            user_agent = value
    return referrer_host(referer.decode("latin-1")), device_class(user_agent.decode("latin-1"))


_COUNTING = {ResolveMode.COUNT, ResolveMode.COUNT_VERIFIED, ResolveMode.COUNT_CLICKED}


def counts_view(mode: ResolveMode) -> bool:
    """A call in this mode may count a view, so it carries the visitor."""
    return mode in _COUNTING


def totals_field(mode: ResolveMode, status: ResolveStatus) -> str | None:
    """What resolve_link counts in the day's totals for this outcome (as the script does)."""
    if mode is ResolveMode.PEEK:
        return None
    if status is ResolveStatus.NOT_FOUND:
        return "n"
    if status in _GONE:
        return "g"
    if mode is ResolveMode.PREVIEW:
        return "p" if status in _SEEN else None
    return "v" if status is ResolveStatus.OK else None


class DayKeys:
    """Today's totals key, remade once a day; `clock` (seconds) lets tests stand anywhere."""

    def __init__(self, keys: Keys, clock: Callable[[], float] = time.time) -> None:
        self.keys = keys
        self.clock = clock
        self._day = -1
        self._key = ""

    def today(self) -> str:
        day = int(self.clock()) // _DAY_SECONDS
        if day != self._day:
            self._day, self._key = day, self.keys.totals(day_date(day))
        return self._key


class ScriptCalls(Protocol):
    """The redirector's script pipeline (one server, or one per primary): queue a call."""

    def run(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> asyncio.Future[Any]: ...


class ServiceTotals:
    """Per-day totals counted in the process and written once a loop tick (Redis Cluster, and
    404s that never reach a script).

    Given the redirector's script pipeline, the sums leave as one add_totals call a day key in
    the same write as that tick's resolve_link calls: no round trip, no client of their own.
    Without it (tests), through a redis-py pipeline.
    """

    def __init__(
        self, redis: Any, days: DayKeys, timeout: float, scripts: ScriptCalls | None = None
    ) -> None:
        self.redis = redis
        self.days = days
        self.timeout = timeout
        self.scripts = scripts
        self._pending: Counter[tuple[str, str]] = Counter()
        self._scheduled = False
        self._writes: set[asyncio.Future[Any]] = set()

    def add(self, field: str) -> None:
        self._pending[self.days.today(), field] += 1
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        counts, self._pending = self._pending, Counter()
        if not counts:
            return
        if self.scripts is None:
            task = asyncio.get_running_loop().create_task(self._write(counts))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
            return
        by_key: dict[str, list[Any]] = {}
        for (key, field), count in counts.items():
            by_key.setdefault(key, [TOTALS_TTL_SECONDS]).extend((field, count))
        for key, args in by_key.items():
            call = self.scripts.run("add_totals", [key], args)
            self._writes.add(call)
            call.add_done_callback(functools.partial(self._written, lost=sum(args[2::2])))

    def _written(self, call: asyncio.Future[Any], *, lost: int) -> None:
        self._writes.discard(call)
        if not call.cancelled() and (exc := call.exception()) is not None:
            logger.warning("service totals not written (%d counts lost): %r", lost, exc)

    async def _write(self, counts: Counter[tuple[str, str]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for (key, field), count in counts.items():
            pipe.hincrby(key, field, count)
        for key in {key for key, _ in counts}:
            pipe.expire(key, TOTALS_TTL_SECONDS)
        try:
            async with asyncio.timeout(self.timeout):
                await pipe.execute()
        except Exception as exc:  # the totals are a dashboard: never an error of a request
            logger.warning("service totals not written (%d counts lost): %r", counts.total(), exc)

    async def drain(self) -> None:
        """Write what is counted and wait for the writes: at shutdown, and in tests."""
        self._flush()
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)


class Recording:
    """The keys a resolve_link call is given: the link's, its stats' and today's totals."""

    def __init__(self, keys: Keys, days: DayKeys, *, enabled: bool, totals_in_script: bool):
        self.keys = keys
        self.days = days
        self.enabled = enabled
        self.totals_in_script = enabled and totals_in_script

    def call_keys(self, code: str) -> list[str]:
        keys = self.keys
        if not self.enabled:
            return [keys.link(code)]
        if self.totals_in_script:
            return [keys.link(code), keys.stats(code), keys.preview_stats(code), self.days.today()]
        return [keys.link(code), keys.stats(code), keys.preview_stats(code)]
