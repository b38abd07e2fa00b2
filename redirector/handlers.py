"""GET/HEAD /{code} past the hot path, and the pages for unmatched paths and methods."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from redirector import previews
from redirector.services import services
from shared.keys import is_valid_code
from shared.scripts import ResolveMode
from shared.store import REDIS_UNAVAILABLE


async def follow(request: Request) -> Response:
    """GET counts one view; HEAD answers the same, counting nothing."""
    found = services(request)
    responder = found.responder
    code = request.path_params["code"]
    if not is_valid_code(code):
        return responder.not_found(request)
    if previews.request_is_preview(request):
        return await previews.preview_response(request, code)
    mode = ResolveMode.PEEK if request.method == "HEAD" else ResolveMode.COUNT
    try:
        resolution = await found.resolver.resolve_once(request, code, mode)
    except REDIS_UNAVAILABLE as exc:
        found.metrics.redis_error(exc)
        found.metrics.resolved("unavailable")
        return responder.unavailable(request)
    found.metrics.resolved(resolution.status.name.lower())
    return responder.outcome(request, resolution)


async def http_error(request: Request, exc: Exception) -> Response:
    """Unmatched paths and methods get the same pages as everything else."""
    assert isinstance(exc, HTTPException)
    responder = services(request).responder
    if exc.status_code == 404:
        return responder.not_found(request)
    return responder.error(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))
