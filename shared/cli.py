"""`python -m redirector` / `python -m admin_api`: settings checked first, then uvicorn."""

from __future__ import annotations

import logging
import sys

from shared.settings import Settings, SettingsError


def serve(app_factory: str, port_of: str) -> None:
    """Fail fast with the variable's name, then run `workers` uvicorn processes."""
    import uvicorn

    try:
        settings = Settings.from_env()
        settings.require_redis_url()
    except SettingsError as exc:
        print(f"securelink: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.host,
        port=getattr(settings, port_of),
        workers=settings.workers,
        http="shared.http_limits:BoundedHttpToolsProtocol",  # 431 past 64 KiB of headers
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        backlog=4096,
        timeout_graceful_shutdown=5,
        # Longer than the idle timeouts of common clients and load balancers (60 s), so a
        # client never reuses a connection the server is closing at that very moment.
        timeout_keep_alive=65,
    )
