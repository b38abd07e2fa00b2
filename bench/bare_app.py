"""Anchor: a bare Starlette app answering 302 for GET /{code}, no Redis. The ceiling to beat."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Location": "https://example.com/bench/target/0123456789abcdefghij",
    "Cache-Control": "private, no-store",
}
served = 0


async def redirect(request: Request) -> Response:
    global served
    served += 1
    return Response(status_code=302, headers=HEADERS)


async def count(request: Request) -> Response:
    """302s served so far, for the benchmark's exactness column."""
    return PlainTextResponse(str(served))


app = Starlette(
    routes=[Route("/-/count", count), Route("/{code}", redirect, methods=["GET", "HEAD"])]
)
