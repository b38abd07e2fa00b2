"""A background load of redirector requests that records every answer and how long it took."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from types import TracebackType

import httpx

REQUEST_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Answer:
    path: str
    started: float  # time.monotonic()
    elapsed: float  # seconds
    status: int  # 0: no answer (transport error or client timeout)
    retry_after: str | None

    @property
    def ended(self) -> float:
        return self.started + self.elapsed


class LoadLoop:
    """`threads` clients request `paths` round robin until the block ends."""

    def __init__(
        self, base_url: str, paths: list[str], *, threads: int = 4, method: str = "GET"
    ) -> None:
        self.base_url = base_url
        self.paths = paths
        self.method = method
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def __enter__(self) -> LoadLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT_SECONDS * 2)

    def _run(self, offset: int) -> None:
        paths = itertools.islice(itertools.cycle(self.paths), offset, None)
        with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            for path in paths:
                if self._stop.is_set():
                    return
                started = time.monotonic()
                try:
                    response = client.request(self.method, path)
                    status, retry_after = response.status_code, response.headers.get("retry-after")
                except httpx.TransportError:
                    status, retry_after = 0, None
                    time.sleep(0.01)
                self.answers.append(
                    Answer(path, started, time.monotonic() - started, status, retry_after)
                )

    def between(self, start: float, end: float = float("inf")) -> list[Answer]:
        """The answers to requests that started in [start, end)."""
        return [answer for answer in list(self.answers) if start <= answer.started < end]

    def within(self, start: float, end: float) -> list[Answer]:
        """The answers to requests that started at `start` or later and ended by `end`."""
        return [a for a in list(self.answers) if start <= a.started and a.ended <= end]

    def statuses(self) -> set[int]:
        return {answer.status for answer in list(self.answers)}
