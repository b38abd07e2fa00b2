"""/-/healthz, /-/readyz and /-/metrics, the same on both services."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shared.errors import error_body, json_response
from shared.store import UNAVAILABLE

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok\n")


async def readyz(request: Request) -> Response:
    state = request.app.state
    try:
        async with asyncio.timeout(state.settings.redis_timeout_ms / 1000):
            await state.redis.ping()
    except UNAVAILABLE:
        body = error_body(503, "Redis is not answering")
        return json_response(503, body, {"Retry-After": "1"})
    return json_response(200, {"status": "ready"})


async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=PROMETHEUS)


ROUTES = [
    Route("/-/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/-/readyz", readyz, methods=["GET", "HEAD"]),
    Route("/-/metrics", metrics, methods=["GET"]),
]
