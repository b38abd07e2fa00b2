"""Anchor: the two-round-trip redirector (HGETALL, then HINCRBY). Not atomic: races overcount."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

COMMON = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
served = 0


async def redirect(request: Request) -> Response:
    global served
    redis: Redis = request.app.state.redis
    key = f"{request.app.state.prefix}:link:{{{request.path_params['code']}}}"
    link = await redis.hgetall(key)
    if b"t" not in link:
        return PlainTextResponse("No link has this code.", 404)
    expires, max_views = link.get(b"e"), link.get(b"m")
    gone = b"r" in link or (expires is not None and time.time() * 1000 >= int(expires))
    if gone or (max_views is not None and int(link.get(b"v", 0)) >= int(max_views)):
        return PlainTextResponse("This link is gone.", 410)
    if b"p" in link:
        return PlainTextResponse("Password required", 401)
    await redis.hincrby(key, "v", 1)  # a second round trip: another request may have passed
    served += 1
    target = link[b"t"]
    target = target.decode() if isinstance(target, bytes) else target
    headers = {**COMMON, "Location": target, "Cache-Control": "private, no-store"}
    return Response(status_code=302, headers=headers)


async def count(request: Request) -> Response:
    """302s served so far, for the benchmark's exactness column."""
    return PlainTextResponse(str(served))


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.redis = Redis.from_url(os.environ["BENCH_REDIS_URL"])
    app.state.prefix = os.environ.get("BENCH_KEY_PREFIX", "sl")
    try:
        yield
    finally:
        await app.state.redis.aclose()


app = Starlette(
    routes=[Route("/-/count", count), Route("/{code}", redirect, methods=["GET", "HEAD"])],
    lifespan=lifespan,
)
