"""`python -m redirector` / `python -m admin_api`: settings checked first, then uvicorn."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from shared.logs import log_config
from shared.settings import Settings, SettingsError

# prometheus-client's own variable; read when a worker first imports it, so this module never
# imports it: with one worker, uvicorn runs the app in this very process (shared.metrics names
# it too).
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def metrics_dir(service: str) -> Path:
    """An empty directory for the workers' metric files, before any worker starts.

    A directory left by an earlier run would add that run's counts to this one's: an operator's
    PROMETHEUS_MULTIPROC_DIR is emptied, else a fresh one is made for this service.
    """
    chosen = os.environ.get(MULTIPROC_DIR)
    if chosen:
        path = Path(chosen)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.mkdtemp(prefix=f"securelink-{service}-metrics-", dir=_memory_dir()))


def _memory_dir() -> str | None:
    """/dev/shm when there is one: the workers write their metric files through shared memory
    maps, which on a disk the kernel writes back every few seconds and then write-protects, so
    the next redirect's write waits on a page fault (and sometimes the journal)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def serve(app_factory: str, port_of: str) -> None:
    """Fail fast with the variable's name, then run `workers` processes of the chosen server."""
    from shared.http_limits import raise_open_file_limit

    try:
        settings = Settings.from_env()
        settings.require_redis()
    except SettingsError as exc:
        print(f"securelink: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # Every connection is a descriptor; the default soft limit (often 1024) is far below what
    # the connection cap allows (shared/http_limits.py). The workers inherit the raised limit.
    raise_open_file_limit()
    service = app_factory.split(".", 1)[0]
    own_dir = not os.environ.get(MULTIPROC_DIR)
    directory = metrics_dir(service)
    # Set before any worker imports prometheus_client: the workers inherit the environment.
    os.environ[MULTIPROC_DIR] = str(directory)
    if own_dir:
        _remove_on_sigterm(directory)
    try:
        if settings.server == "granian":
            _granian(app_factory, settings, getattr(settings, port_of))
        else:
            _uvicorn(app_factory, settings, getattr(settings, port_of))
    finally:
        if own_dir:
            shutil.rmtree(directory, ignore_errors=True)


def _remove_on_sigterm(directory: Path) -> None:
    """After its graceful shutdown uvicorn raises the SIGTERM again, under the handler it found
    at start-up; with none the process dies right there, past every `finally`, and its metric
    files would be left behind (in memory, under /dev/shm), one directory a run."""

    def remove_and_stop(signum: int, frame: object) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, remove_and_stop)


def uvicorn_options(settings: Settings, port: int) -> dict[str, Any]:
    """uvicorn.run's options for a service (besides the app): the protocol, logs, limits."""
    return {
        "host": settings.host,
        "port": port,
        "workers": settings.workers,
        # 431 past 64 KiB of headers, head deadline, body rate, connection cap; and the
        # redirector's plain redirects written without ASGI (shared/fast_lane.py)
        "http": "shared.fast_lane:FastLaneProtocol",
        "log_config": log_config(settings.log_format, settings.log_level),
        "log_level": settings.log_level,
        "access_log": settings.access_log,
        "server_header": False,
        # uvicorn would trust X-Forwarded-For from 127.0.0.1 on its own; the only source of
        # that trust is SECURELINK_TRUSTED_PROXIES (redirector/password.py). Off, it also
        # leaves the app unwrapped, where the fast lane finds its hot path.
        "proxy_headers": False,
        "forwarded_allow_ips": "",
        "backlog": 4096,
        "timeout_graceful_shutdown": 5,
        # Longer than the idle timeouts of common clients and load balancers (60 s), so a
        # client never reuses a connection the server is closing at that very moment.
        "timeout_keep_alive": 65,
    }


def _uvicorn(app_factory: str, settings: Settings, port: int) -> None:
    """One worker: uvicorn.run, in this process. More: uvicorn's supervisor, ours by a hook."""
    import uvicorn

    options = uvicorn_options(settings, port)
    if settings.workers == 1:
        uvicorn.run(app_factory, factory=True, **options)
        return
    from shared.workers import Supervisor

    # What uvicorn.run does with several workers, with the supervisor that marks a dead
    # worker dead in the metrics.
    config = uvicorn.Config(app_factory, factory=True, **options)
    Supervisor(config, sockets=[config.bind_socket()]).run()


def _granian(app_factory: str, settings: Settings, port: int) -> None:
    """granian (a Rust HTTP server) running the same ASGI app on uvloop: see README."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings

    from shared.http_limits import MAX_HEAD_BYTES

    Granian(
        app_factory,
        address=settings.host,
        port=port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        loop=Loops.uvloop,
        factory=True,
        http=HTTPModes.http1,
        websockets=False,
        backlog=4096,
        # hyper answers 431 when a request's head does not fit in its read buffer.
        # The head deadline of shared/http_limits.py; its body rate, connection cap and 400
        # headers are uvicorn's only (README, "Hostile input").
        http1_settings=HTTP1Settings(
            max_buffer_size=MAX_HEAD_BYTES,
            header_read_timeout=settings.head_timeout_seconds * 1000,
        ),
        log_dictconfig=log_config(settings.log_format, settings.log_level),
        log_level=settings.log_level,  # type: ignore[arg-type]
        log_access=settings.access_log,
        workers_kill_timeout=5,
    ).serve()
