"""/-/healthz, /-/readyz and /-/metrics, the same on both services."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shared.errors import error_body, json_response
from shared.metrics import Metrics
from shared.settings import Settings
from shared.store import REDIS_UNAVAILABLE

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class HealthServices(Protocol):
    """What these routes need of a service's `app.state.services` (both services have it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def redis(self) -> Any: ...
    @property
    def metrics(self) -> Metrics: ...


def _services(request: Request) -> HealthServices:
    found: HealthServices = request.app.state.services
    return found


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok\n")


async def readyz(request: Request) -> Response:
    found = _services(request)
    try:
        async with asyncio.timeout(found.settings.redis_timeout_ms / 1000):
            await found.redis.ping()
    except REDIS_UNAVAILABLE:
        body = error_body(503, "Redis is not answering")
        return json_response(503, body, {"Retry-After": "1"})
    return json_response(200, {"status": "ready"})


async def metrics(request: Request) -> Response:
    return Response(_services(request).metrics.render(), media_type=PROMETHEUS)


ROUTES = [
    Route("/-/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/-/readyz", readyz, methods=["GET", "HEAD"]),
    Route("/-/metrics", metrics, methods=["GET"]),
]
