"""The benchmark's moving parts: server processes it starts and stops, and wrk runs it parses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.processes import ROOT, Process, StartError, wait_until_ready

BENCH = ROOT / "bench"
START_TIMEOUT_SECONDS = 20.0


class BenchError(RuntimeError):
    """A process did not start, or wrk failed: the message says which and why."""


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float = 120.0) -> Any:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class Service:
    """One server process in a session of its own, logging to a file."""

    name: str
    argv: list[str]
    port: int
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/-/healthz"
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self) -> Service:
        # Its own session: stop() signals the whole group, uvicorn workers included.
        self.process = Process(
            name=self.name,
            argv=self.argv,
            env={**os.environ, **self.env},
            log_path=self.log_path,
            own_session=True,
        ).start()
        try:
            wait_until_ready(
                [(self.process, self.url + self.ready_path)], timeout=START_TIMEOUT_SECONDS
            )
        except StartError:
            tail = self.process.tail()
            self.stop()
            raise BenchError(
                f"{self.name} did not start; its log ({self.log_path}):\n{tail}"
            ) from None
        return self

    def stop(self) -> None:
        """SIGTERM to the process group we started, then SIGKILL after 10 s."""
        if self.process is not None:
            self.process.stop()
        self.process = None

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def uvicorn_app(name: str, app: str, port: int, log_dir: Path, env: dict[str, str]) -> Service:
    """An anchor app under uvicorn as the redirector runs: uvloop, httptools, no access log."""
    argv = [
        sys.executable, "-m", "uvicorn", app,
        "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning", "--backlog", "4096", "--no-server-header",
    ]  # fmt: skip
    return Service(name, argv, port, log_dir, env, ready_path="/-/count")


NODE_ANCHOR = BENCH / "node_anchor"


def prepare_node_anchor() -> str | None:
    """Install the Node anchor's pinned packages with npm; a note saying why not, or None.

    The anchor is what a Node user would build on our own script (node:http, ioredis with
    auto-pipelining): the stack to beat. Without node or npm the benchmark runs without it.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "Node anchor skipped: node and npm are not installed"
    lock = NODE_ANCHOR / "package-lock.json"
    installed = NODE_ANCHOR / "node_modules" / ".package-lock.json"
    if installed.is_file() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return None
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_ANCHOR,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"Node anchor skipped: npm ci failed: {done.stderr.strip()[-500:]}"
    return None


def node_anchor(port: int, log_dir: Path, env: dict[str, str]) -> Service:
    """bench/node_anchor/server.js: node:http + ioredis running lua/resolve_link.lua."""
    node = shutil.which("node") or "node"
    argv = [node, str(NODE_ANCHOR / "server.js")]
    return Service("node", argv, port, log_dir, {**env, "BENCH_PORT": str(port)})


def securelink(module: str, port: int, log_dir: Path, env: dict[str, str]) -> Service:
    """`python -m redirector` or `python -m admin_api`, as deployed."""
    return Service(module, [sys.executable, "-m", module], port, log_dir, env)


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: dict[str, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(count for name, count in self.errors.items() if name != "status")


def wrk_argv(
    url: str, *, connections: int, seconds: float, script: str = "wrk.lua", timeout: float = 2
) -> list[str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed (./scripts/bench installs it with apt-get)")
    return [
        wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout:g}s",
        "-s", str(BENCH / script), url,
    ]  # fmt: skip


def start_wrk(url: str, env: dict[str, str] | None = None, **options: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        wrk_argv(url, **options),
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish_wrk(process: subprocess.Popen[str]) -> dict[str, Any]:
    output, _ = process.communicate()
    for line in output.splitlines():
        if line.startswith("BENCH "):
            report: dict[str, Any] = json.loads(line[len("BENCH ") :])
            return report
    raise BenchError(f"wrk gave no report (exit {process.returncode}):\n{output}")


def wrk(url: str, env: dict[str, str] | None = None, **options: Any) -> WrkResult:
    """One wrk run with one thread; latency in milliseconds."""
    return parse(finish_wrk(start_wrk(url, env, **options)))


def parse(report: dict[str, Any]) -> WrkResult:
    errors = {name: report[name] for name in ("connect", "read", "write", "status", "timeout")}
    return WrkResult(
        requests=report["requests"],
        seconds=report["duration_us"] / 1e6,
        p50_ms=report["p50"] / 1000,
        p90_ms=report["p90"] / 1000,
        p99_ms=report["p99"] / 1000,
        errors=errors,
    )
