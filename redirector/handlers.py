"""GET/HEAD /{code} past the hot path, and the pages for unmatched paths and methods."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from redirector import previews
from redirector.prefetch import is_prefetch
from redirector.services import services
from shared.keys import is_valid_code
from shared.scripts import ResolveMode
from shared.store import REDIS_UNAVAILABLE


async def follow(request: Request) -> Response:
    """GET counts one view; HEAD answers the same, counting nothing (a view-limited url link
    answers the neutral page instead of its redirect)."""
    found = services(request)
    responder = found.responder
    code = request.path_params["code"]
    if not is_valid_code(code):
        if request.method == "GET" and found.totals is not None:
            found.totals.add("n")  # no script call to count it in: see redirector/recording.py
        return responder.not_found(request)
    if request.method == "GET" and is_prefetch(request.headers.items()):
        found.metrics.resolved("prefetch")
        return responder.prefetch_declined(request)
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
    if mode is ResolveMode.PEEK and resolution.view_limited and not resolution.is_file:
        # Its target must not be read without spending a view: HEAD sees the neutral page.
        return previews.neutral_page(responder.always_on)
    return responder.outcome(request, resolution)


async def http_error(request: Request, exc: Exception) -> Response:
    """Unmatched paths and methods get the same pages as everything else."""
    assert isinstance(exc, HTTPException)
    responder = services(request).responder
    if exc.status_code == 404:
        return responder.not_found(request)
    return responder.error(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))
