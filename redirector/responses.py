"""How the redirector answers: every message text it sends, and the Responder that sends them."""

from __future__ import annotations

import enum

from starlette.requests import Request
from starlette.responses import Response

from redirector import pages
from redirector.downloads import Downloads
from redirector.negotiation import prefers_json
from redirector.resolver import Resolution
from shared.errors import error_body, json_response
from shared.files import files_dir
from shared.scripts import ResolveStatus
from shared.settings import Settings
from shared.urls import ascii_url

# Redirects and files: the answer belongs to this one request (a view was counted for it).
NO_STORE = "private, no-store"


class Text(enum.StrEnum):
    """Every text the redirector shows or sends as an error message."""

    NOT_FOUND = "No link has this code."
    EXPIRED = "This link has expired."
    EXHAUSTED = "This link has reached its view limit."
    REVOKED = "This link has been revoked."
    FILE_GONE = "This file is no longer available."
    BUSY = "The service is busy. Try again in a moment."
    PASSWORD_REQUIRED = "Password required"
    CLICK_REQUIRED = "Click required"
    PREFETCH_DECLINED = "Prefetches are declined: open the link to continue."
    ENTER_PASSWORD = "Enter the password."
    WRONG_PASSWORD = "Wrong password. Try again."
    LOCKED_OUT = "Too many wrong passwords. Try again later."
    TOO_BUSY = "Too many password attempts at once. Try again in a moment."
    BODY_TOO_LARGE = "Request body is too large"
    MALFORMED_BODY = "Malformed request body"


_GONE = {
    ResolveStatus.EXPIRED: Text.EXPIRED,
    ResolveStatus.EXHAUSTED: Text.EXHAUSTED,
    ResolveStatus.REVOKED: Text.REVOKED,
}


def always_on_headers(settings: Settings) -> dict[str, str]:
    """On every redirector response, health and metrics too; a handler's own values win."""
    return {"X-Content-Type-Options": "nosniff", "Referrer-Policy": settings.referrer_policy}


class Responder:
    """Turns outcomes into responses: HTML pages, or JSON when the client prefers it."""

    def __init__(self, settings: Settings) -> None:
        self.always_on = always_on_headers(settings)
        self.downloads = Downloads(files_dir(settings))

    def error(
        self, request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        all_headers = {**self.always_on, "Cache-Control": "no-store", **(headers or {})}
        body = error_body(status, message)
        if prefers_json(request.headers.get("accept", "")):
            return json_response(status, body, all_headers)
        all_headers.update(pages.PAGE_HEADERS)
        return Response(
            pages.message_page(body["error"], message), status, all_headers, media_type="text/html"
        )

    def not_found(self, request: Request) -> Response:
        return self.error(request, 404, Text.NOT_FOUND)

    def outcome(
        self, request: Request, resolution: Resolution, redirect_status: int = 302
    ) -> Response:
        status = resolution.status
        if status is ResolveStatus.OK:
            assert resolution.target is not None
            if resolution.is_file:
                return self.file(request, resolution)
            return self.redirect(resolution.target, redirect_status)
        if status is ResolveStatus.NOT_FOUND:
            return self.not_found(request)
        if status is ResolveStatus.PASSWORD_REQUIRED:
            return self.password_form(request)
        if status is ResolveStatus.CLICK_REQUIRED:
            return self.click_page(request)
        return self.error(request, 410, _GONE[status])

    def redirect(self, target: str, status: int = 302) -> Response:
        """The redirect; redirector/hotpath.py sends the same headers from a template of it."""
        if not target.isascii():  # stored before targets were made ASCII; Latin-1 would fail
            target = ascii_url(target)
        headers = {**self.always_on, "Location": target, "Cache-Control": NO_STORE}
        return Response(status_code=status, headers=headers)

    def password_form(
        self, request: Request, error: str | None = None, status: int = 200
    ) -> Response:
        if prefers_json(request.headers.get("accept", "")):
            return self.error(request, 401, error or Text.PASSWORD_REQUIRED)
        headers = {**self.always_on, **pages.PAGE_HEADERS}
        return Response(pages.password_page(error), status, headers, media_type="text/html")

    def click_page(self, request: Request) -> Response:
        """The "Open link" page: the same headers (CSP, no-store) as the password form."""
        if prefers_json(request.headers.get("accept", "")):
            return self.error(request, 401, Text.CLICK_REQUIRED)
        headers = {**self.always_on, **pages.PAGE_HEADERS}
        return Response(pages.click_page(), 200, headers, media_type="text/html")

    def prefetch_declined(self, request: Request) -> Response:
        """503, never cached: the browser asks again when the person follows the link."""
        return self.error(request, 503, Text.PREFETCH_DECLINED, {"Cache-Control": "no-store"})

    def file(self, request: Request, resolution: Resolution) -> Response:
        """The view is already counted; a file missing on disk is as gone as the link."""
        assert resolution.target is not None
        response = self.downloads.response(
            resolution.target,
            resolution.file_name,
            resolution.content_type,
            {**self.always_on, "Cache-Control": NO_STORE},
        )
        if response is None:
            return self.error(request, 410, Text.FILE_GONE)
        return response

    def unavailable(self, request: Request) -> Response:
        return self.error(request, 503, Text.BUSY, {"Retry-After": "1"})
