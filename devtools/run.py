"""scripts/run: the embedded server (unless SECURELINK_REDIS_URL is set) and both services."""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import socket
import sys
import time
from dataclasses import dataclass
from types import FrameType

from devtools.processes import NotReady, Process, ProcessExited, stop_all, wait_until_ready
from devtools.redis_server import RedisServer, ServerStartError
from shared.settings import Settings, SettingsError

EMBEDDED_PORT_VARIABLE = "SECURELINK_EMBEDDED_REDIS_PORT"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


class Stop(Exception):
    """Raised to unwind start-up or the wait loop with an exit status."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Service:
    name: str
    module: str
    port_variable: str
    port: int
    process: Process | None = None

    def start(self, env: dict[str, str]) -> None:
        # A session of its own: Ctrl-C reaches only this supervisor, which stops the
        # services in order (each gets one SIGTERM, not a SIGINT and then a SIGTERM). Their
        # output goes to the terminal, as ours does.
        self.process = Process(
            name=self.name, argv=[sys.executable, "-m", self.module], env=env, own_session=True
        ).start()

    def check_port_free(self, host: str) -> None:
        """Fail before starting anything if another process holds the port."""
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, self.port))
            except OSError as error:
                where = f"{host}:{self.port} ({self.port_variable})"
                message = f"error: {self.name} cannot listen on {where}: {error.strerror}"
                raise Stop(1, message) from None

    def exit_status(self) -> int | None:
        return None if self.process is None else self.process.exit_status()

    def health_url(self, host: str) -> str:
        return f"http://{host}:{self.port}/-/healthz"


def _connect_host(bind_host: str) -> str:
    """The address to reach a service bound to bind_host, as it goes in a URL."""
    if bind_host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{bind_host}]" if ":" in bind_host else bind_host


def _embedded_port() -> int | None:
    raw = os.environ.get(EMBEDDED_PORT_VARIABLE, "")
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"{EMBEDDED_PORT_VARIABLE}: must be between 1 and 65535 (got {raw!r})")
    return int(raw)


def _stop_services(services: list[Service]) -> None:
    stop_all([s.process for s in services if s.process is not None], STOP_TIMEOUT_SECONDS)


def _check_alive(services: list[Service], stop_signals: list[int]) -> None:
    if stop_signals:
        raise Stop(0)
    for service in services:
        status = service.exit_status()
        if status is not None:
            message = f"error: {service.name} exited unexpectedly (status {status}); stopping"
            raise Stop(1, message)


def _wait_until_healthy(services: list[Service], host: str, stop_signals: list[int]) -> None:
    started = [(s.process, s.health_url(host)) for s in services if s.process is not None]
    try:
        wait_until_ready(
            started,
            timeout=READY_TIMEOUT_SECONDS,
            check=lambda: _check_alive(services, stop_signals),
        )
    except ProcessExited as exited:
        message = f"error: {exited.process.name} exited unexpectedly (status {exited.status})"
        raise Stop(1, f"{message}; stopping") from None
    except NotReady as late:
        names = " and ".join(process.name for process in late.waiting)
        message = f"error: {names} did not answer /-/healthz in time; stopping the rest"
        raise Stop(1, message) from None


def _banner(
    settings: Settings,
    env: dict[str, str],
    services: list[Service],
    admin_key: str,
    key_generated: bool,
    server: RedisServer | None,
) -> str:
    host = _connect_host(settings.host)
    redirector, admin = (f"http://{host}:{service.port}" for service in services)
    key_origin = "generated for this run" if key_generated else "from SECURELINK_ADMIN_KEY"
    redis_line = (
        f"{server.url} (embedded, data in {server.data_dir})"
        if server is not None
        else "from SECURELINK_REDIS_URL"
    )
    body = shlex.quote('{"targetUrl":"https://example.com/"}')
    return f"""
securelink is running
  redirector:  {redirector}   (short links: {env["SECURELINK_PUBLIC_BASE_URL"]}/<code>)
  admin API:   {admin}
  admin key:   {admin_key}   ({key_origin})
  redis:       {redis_line}

Create a link:
  curl -sS -X POST {admin}/api/v1/links \\
    -H {shlex.quote("Authorization: Bearer " + admin_key)} \\
    -H 'Content-Type: application/json' \\
    -d {body}

Press Ctrl-C to stop.
"""


def main() -> int:
    """Start everything, wait for Ctrl-C or a crash, then stop the services and the server."""
    stop_signals: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_signals.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)

    try:
        settings = Settings.from_env()
        embedded_port = _embedded_port()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    env = dict(os.environ)
    server: RedisServer | None = None
    services = [
        Service("redirector", "redirector", "SECURELINK_REDIRECTOR_PORT", settings.redirector_port),
        Service("admin API", "admin_api", "SECURELINK_ADMIN_PORT", settings.admin_port),
    ]
    try:
        for service in services:
            service.check_port_free(settings.host)
        if settings.redis is None:
            server = RedisServer(
                port=embedded_port,
                data_dir=settings.data_dir / "redis",
                appendonly=True,
                appendfsync="everysec",
            )
            server.start()
            env["SECURELINK_REDIS_URL"] = server.url
        if not env.get("SECURELINK_PUBLIC_BASE_URL"):
            # Short links must point at the redirector even when its port was changed.
            env["SECURELINK_PUBLIC_BASE_URL"] = f"http://localhost:{settings.redirector_port}"
        admin_key = settings.admin_key or secrets.token_urlsafe(32)
        redirector, admin = services
        redirector.start({k: v for k, v in env.items() if k != "SECURELINK_ADMIN_KEY"})
        admin.start({**env, "SECURELINK_ADMIN_KEY": admin_key})
        _wait_until_healthy(services, _connect_host(settings.host), stop_signals)

        banner = _banner(settings, env, services, admin_key, settings.admin_key is None, server)
        print(banner)
        sys.stdout.flush()
        while True:
            _check_alive(services, stop_signals)
            time.sleep(0.2)
    except (ServerStartError, FileNotFoundError) as error:
        print(f"error: the embedded Redis server did not start: {error}", file=sys.stderr)
        return 1
    except Stop as stop:
        print(stop.message or "\nstopping ...", file=sys.stderr)
        return stop.status
    finally:
        _stop_services(services)
        if server is not None:
            server.stop()
        print("stopped", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
