"""uvicorn's worker supervisor, which also tells the metrics when a worker is gone.

uvicorn's `Multiprocess` restarts a worker that died (killed, crashed, or hung and killed by
it). Its counters and histograms stay in the service's sum, but its live gauges must leave it:
prometheus-client's `mark_process_dead(pid)` removes them. A worker that stops cleanly does
that itself; this supervisor does it for one that could not, as soon as it is reaped and before
its replacement starts, so a replacement given the same process id never loses its own files.

Imported only by the supervisor process, after PROMETHEUS_MULTIPROC_DIR is set (shared/cli.py).
"""

from __future__ import annotations

import logging

from uvicorn.supervisors import Multiprocess

logger = logging.getLogger("uvicorn.error")


def _mark_dead(pid: int) -> None:
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(pid)  # type: ignore[no-untyped-call]
    logger.info("Marked worker process [%d] dead in the metrics", pid)


class Supervisor(Multiprocess):
    """`Multiprocess`, marking every worker that left it dead in the metrics."""

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def keep_subprocess_alive(self) -> None:
        # A worker already dead is reaped here (is_alive waits for it), marked, then replaced.
        marked: set[int] = set()
        for process in self.processes:
            if process.pid is not None and not process.process.is_alive():
                _mark_dead(process.pid)
                marked.add(process.pid)
        before = self._pids() - marked
        super().keep_subprocess_alive()
        self._forget(before)  # one that died meanwhile, or hung and was killed

    def handle_signals(self) -> None:
        before = self._pids()
        super().handle_signals()  # SIGHUP replaces every worker, SIGTTOU stops one
        self._forget(before)

    def _forget(self, before: set[int]) -> None:
        # A replacement given a departed worker's id is in self.processes: its files stay.
        for pid in sorted(before - self._pids()):
            _mark_dead(pid)
