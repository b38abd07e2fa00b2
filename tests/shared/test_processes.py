"""devtools/processes.py: the supervisor under ./scripts/run, the test stacks and the benchmark."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from devtools.processes import NotReady, Process, ProcessExited, stop_all, wait_until_ready
from devtools.redis_server import free_port

# Answers 200 on /-/healthz once started; prints its pid and "serving" to its log first.
SERVER = """
import http.server, os, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/-/healthz" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("serving", os.getpid(), flush=True)
server.serve_forever()
"""

# Ignores SIGTERM (and says so once it does), then sleeps: only SIGKILL stops it.
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", flush=True)
time.sleep(600)
"""


def _python(name: str, code: str, tmp_path: Path, *args: str, own_session: bool = False) -> Process:
    return Process(
        name=name,
        argv=[sys.executable, "-c", code, *args],
        env=dict(os.environ),
        log_path=tmp_path / f"{name}.log",
        own_session=own_session,
    )


def _wait_for_output(process: Process, text: str) -> None:
    deadline = time.monotonic() + 30
    while text not in process.output():
        assert process.exit_status() is None, process.output()
        assert time.monotonic() < deadline, process.output()
        time.sleep(0.05)


def test_a_process_is_ready_when_its_url_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    server = _python("server", SERVER, tmp_path, str(port)).start()
    try:
        wait_until_ready([(server, f"http://127.0.0.1:{port}/-/healthz")], timeout=30)
        assert "serving" in server.output()
    finally:
        server.stop()

    assert server.exit_status() == -signal.SIGTERM


def test_a_process_that_exits_before_it_is_ready_is_named_with_its_status_and_log(
    tmp_path: Path,
) -> None:
    code = "import sys; print('no such setting'); sys.exit(3)"
    failing = _python("failing", code, tmp_path).start()

    with pytest.raises(ProcessExited) as raised:
        wait_until_ready([(failing, f"http://127.0.0.1:{free_port()}/")], timeout=30)

    assert str(raised.value) == "failing exited with status 3"
    assert raised.value.process.tail() == "no such setting\n"


def test_not_ready_in_time_names_the_processes_still_waiting(tmp_path: Path) -> None:
    port = free_port()
    server = _python("server", SERVER, tmp_path, str(port)).start()
    silent = _python("silent", "import time; time.sleep(600)", tmp_path).start()
    try:
        with pytest.raises(NotReady) as raised:
            wait_until_ready(
                [
                    (server, f"http://127.0.0.1:{port}/-/healthz"),
                    (silent, f"http://127.0.0.1:{free_port()}/-/healthz"),
                ],
                timeout=2,
            )
    finally:
        stop_all([server, silent])

    assert raised.value.waiting == [silent]
    assert str(raised.value) == "silent did not answer within 2 s"


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    stubborn = _python("stubborn", STUBBORN, tmp_path).start()
    _wait_for_output(stubborn, "ignoring SIGTERM")

    stubborn.stop(grace=1)

    assert stubborn.exit_status() == -signal.SIGKILL


def test_a_process_in_its_own_session_is_stopped_with_its_whole_group(tmp_path: Path) -> None:
    # The parent starts a child in its group and ignores SIGTERM; the child does not.
    code = (
        "import signal, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('child', child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = _python("parent", code, tmp_path, own_session=True).start()
    _wait_for_output(parent, "child ")
    child_pid = int(parent.output().split()[1])
    assert parent.pid is not None
    assert os.getpgid(child_pid) == parent.pid

    parent.stop(grace=1)

    assert parent.exit_status() == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while _alive(child_pid):  # signalled with its group; gone or a zombie soon after
        assert time.monotonic() < deadline, f"child {child_pid} outlived its stopped group"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
