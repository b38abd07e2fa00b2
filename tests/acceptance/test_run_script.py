"""scripts/run's supervisor: embedded server, both services, a clean stop on Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from devtools.redis_server import free_port
from tests.support.stacks import ROOT

BANNER_END = "Press Ctrl-C to stop."
StartSupervisor = Callable[[dict[str, str]], "Supervisor"]


class Supervisor:
    """devtools/run.py as a child process, its stdout read line by line in the background."""

    def __init__(self, env: dict[str, str], stderr_path: Path) -> None:
        self.stderr_path = stderr_path
        with stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devtools.run"],
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.process.stdout.close()

    def read_until(self, marker: str, timeout: float = 60) -> str:
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            seen.append(line)
            if marker in line:
                return "".join(seen)
        pytest.fail(f"no {marker!r} in the output:\n{''.join(seen)}\n{self.stderr()}")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait(self, timeout: float = 30) -> int:
        status = self.process.wait(timeout)
        self._reader.join(5)
        return status

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait()


@pytest.fixture
def supervisor_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECURELINK_")}
    env.update(
        SECURELINK_DATA_DIR=str(tmp_path / "data"),
        SECURELINK_REDIRECTOR_PORT=str(free_port()),
        SECURELINK_ADMIN_PORT=str(free_port()),
        SECURELINK_ARGON2_PROFILE="test",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def start_supervisor(tmp_path: Path) -> Iterator[StartSupervisor]:
    started: list[Supervisor] = []

    def start(env: dict[str, str]) -> Supervisor:
        supervisor = Supervisor(env, tmp_path / f"stderr-{len(started)}.log")
        started.append(supervisor)
        return supervisor

    yield start
    for supervisor in started:
        supervisor.stop()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_run_prints_urls_and_key_serves_links_and_stops_cleanly_on_ctrl_c(
    start_supervisor: StartSupervisor, supervisor_env: dict[str, str], tmp_path: Path
) -> None:
    supervisor = start_supervisor(supervisor_env)
    banner = supervisor.read_until(BANNER_END)
    admin_url = re.search(r"admin API:\s+(\S+)", banner)
    admin_key = re.search(r"admin key:\s+(\S+)", banner)
    redis_url = re.search(r"redis:\s+(redis://\S+)", banner)
    assert admin_url and admin_key and redis_url, banner
    assert f"http://127.0.0.1:{supervisor_env['SECURELINK_REDIRECTOR_PORT']}" in banner
    assert "curl -sS -X POST" in banner
    created = httpx.post(
        f"{admin_url[1]}/api/v1/links",
        json={"targetUrl": "https://example.com/run"},
        headers={"Authorization": f"Bearer {admin_key[1]}"},
    )
    assert created.status_code == 201, created.text
    redirector_port = supervisor_env["SECURELINK_REDIRECTOR_PORT"]
    short_code = created.json()["shortCode"]
    assert created.json()["shortUrl"] == f"http://localhost:{redirector_port}/{short_code}"
    redirect = httpx.get(f"http://127.0.0.1:{redirector_port}/{short_code}")
    assert redirect.status_code == 302
    redis_port = int(redis_url[1].rsplit(":", 1)[1].split("/")[0])

    supervisor.process.send_signal(signal.SIGINT)
    status = supervisor.wait()

    assert status == 0, supervisor.stderr()
    for port in (
        redis_port,
        int(supervisor_env["SECURELINK_REDIRECTOR_PORT"]),
        int(supervisor_env["SECURELINK_ADMIN_PORT"]),
    ):
        assert not _listening(port)
    assert (tmp_path / "data" / "redis" / "appendonlydir").is_dir()


def _child_running(parent: int, module: str) -> int:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    for pid in children:
        if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[1:3] == [b"-m", module.encode()]:
            return int(pid)
    raise AssertionError(f"no child runs python -m {module}")


def test_run_stops_everything_when_a_service_dies(
    start_supervisor: StartSupervisor, supervisor_env: dict[str, str]
) -> None:
    supervisor = start_supervisor(supervisor_env)
    banner = supervisor.read_until(BANNER_END)
    redis_url = re.search(r"redis:\s+(redis://\S+)", banner)
    assert redis_url, banner

    os.kill(_child_running(supervisor.process.pid, "redirector"), signal.SIGKILL)
    status = supervisor.wait()

    assert status == 1
    assert "error: redirector exited unexpectedly (status -9); stopping" in supervisor.stderr()
    assert not _listening(int(supervisor_env["SECURELINK_ADMIN_PORT"]))
    assert not _listening(int(redis_url[1].rsplit(":", 1)[1].split("/")[0]))


def test_run_refuses_a_port_in_use_before_starting_anything(
    start_supervisor: StartSupervisor, supervisor_env: dict[str, str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        supervisor_env["SECURELINK_ADMIN_PORT"] = str(port)
        # Chosen while `taken` holds its port, so the two can never coincide.
        supervisor_env["SECURELINK_REDIRECTOR_PORT"] = str(free_port())
        supervisor = start_supervisor(supervisor_env)

        status = supervisor.wait()

    assert status == 1
    assert (
        f"error: admin API cannot listen on 127.0.0.1:{port} (SECURELINK_ADMIN_PORT): "
        "Address already in use"
    ) in supervisor.stderr()
    assert not _listening(int(supervisor_env["SECURELINK_REDIRECTOR_PORT"]))


def test_run_refuses_a_malformed_variable_with_status_2(
    start_supervisor: StartSupervisor, supervisor_env: dict[str, str]
) -> None:
    supervisor_env["SECURELINK_ADMIN_PORT"] = "eighty"
    supervisor = start_supervisor(supervisor_env)

    status = supervisor.wait()

    assert status == 2
    assert "SECURELINK_ADMIN_PORT: must be an integer (got 'eighty')" in supervisor.stderr()
