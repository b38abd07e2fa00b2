"""The one supervisor of child processes: ./scripts/run, the test stacks and the benchmark.

Start a process with its environment (its output to a log file, or to ours), wait until an
HTTP route of it answers 200, stop it with SIGTERM and SIGKILL it after a grace period, and
show its log when it fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10.0
LOG_TAIL_CHARS = 3000

# Readiness probes go to our own children on loopback, never through an http_proxy of the
# environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StartError(Exception):
    """A process did not become ready; the message names it."""


class ProcessExited(StartError):
    def __init__(self, process: Process, status: int) -> None:
        super().__init__(f"{process.name} exited with status {status}")
        self.process = process
        self.status = status


class NotReady(StartError):
    def __init__(self, waiting: Sequence[Process], timeout: float) -> None:
        names = " and ".join(process.name for process in waiting)
        super().__init__(f"{names} did not answer within {timeout:g} s")
        self.waiting = list(waiting)
        self.timeout = timeout


@dataclass(kw_only=True, eq=False)  # one process is equal only to itself
class Process:
    """One child process. With a log file, a full pipe can never block it."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]  # its whole environment
    log_path: Path | None = None  # None: it writes to our stdout and stderr
    cwd: Path = ROOT
    # A session of its own: a Ctrl-C in our terminal reaches only us, and stop() signals its
    # whole process group (server workers included).
    own_session: bool = False
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> Process:
        if self.log_path is None:
            self.popen = self._spawn(None)
        else:
            with self.log_path.open("wb") as log:
                self.popen = self._spawn(log)
        return self

    def _spawn(self, log: IO[bytes] | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(self.argv),
            env=dict(self.env),
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=None if log is None else subprocess.STDOUT,
            start_new_session=self.own_session,
        )

    @property
    def pid(self) -> int | None:
        return None if self.popen is None else self.popen.pid

    def exit_status(self) -> int | None:
        """None while it runs (or before it started)."""
        return None if self.popen is None else self.popen.poll()

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        """Everything it wrote to its log so far ("" without one)."""
        if self.log_path is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return self.output()[-chars:]

    def signal(self, signum: int) -> None:
        popen = self.popen
        if popen is None or popen.poll() is not None:
            return  # exited (and reaped): its pid, and group, may belong to another now
        if self.own_session:
            os.killpg(popen.pid, signum)
        else:
            popen.send_signal(signum)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        stop_all([self], grace)


def stop_all(processes: Sequence[Process], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM every running one at once (a graceful shutdown), SIGKILL any left after grace."""
    running = [process for process in processes if process.running()]
    for process in running:
        process.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in running:
        assert process.popen is not None
        try:
            process.popen.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.signal(signal.SIGKILL)
            process.popen.wait()
    for process in processes:
        if process.popen is not None:
            process.popen.wait()


def answers(url: str, timeout: float = 1.0) -> bool:
    """Whether a GET of url answers 200 now."""
    try:
        with _DIRECT.open(url, timeout=timeout) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def wait_until_ready(
    targets: Sequence[tuple[Process, str]],
    *,
    timeout: float,
    interval: float = 0.1,
    check: Callable[[], None] | None = None,
) -> None:
    """Poll each process's URL until all answer 200.

    Raises ProcessExited as soon as one of them exits, NotReady (naming those still waiting)
    past the timeout. `check`, called each round first, may raise to stop waiting.
    """
    deadline = time.monotonic() + timeout
    waiting = list(targets)
    while True:
        if check is not None:
            check()
        for process, _ in targets:
            status = process.exit_status()
            if status is not None:
                raise ProcessExited(process, status)
        waiting = [(process, url) for process, url in waiting if not answers(url)]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise NotReady([process for process, _ in waiting], timeout)
        time.sleep(interval)
