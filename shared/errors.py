"""Errors that become the contract's JSON bodies, and the catch-all that answers surprises."""

from __future__ import annotations

import logging
import secrets
from http import HTTPStatus
from typing import Any, ClassVar

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("securelink")

JSON = "application/json"
_encode = msgspec.json.Encoder().encode


def error_body(status: int, message: str) -> dict[str, Any]:
    """The contract's error object: status, its reason phrase, and a message."""
    return {"status": status, "error": HTTPStatus(status).phrase, "message": message}


class ApiError(Exception):
    """Base of the errors a handler may raise; never raised itself."""

    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "An unexpected error occurred"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message)


class ValidationFailed(ApiError):
    status = 400
    default_message = "Validation failed"

    def __init__(self, errors: list[str]):
        super().__init__()
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {**super().body(), "errors": self.errors}


class MalformedBody(ApiError):
    status = 400
    default_message = "Malformed JSON body"


class Unauthorized(ApiError):
    status = 401
    default_message = "Missing or invalid API key"

    def __init__(self, message: str | None = None):
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status = 403
    default_message = "This API key may not do that"


class NotFound(ApiError):
    status = 404
    default_message = "Link not found"


class Conflict(ApiError):
    status = 409
    default_message = "customCode is already taken"


class PayloadTooLarge(ApiError):
    status = 413
    default_message = "Request body is too large"


class StorageUnavailable(ApiError):
    status = 503
    default_message = "Storage is unavailable, retry shortly"

    def __init__(self, message: str | None = None):
        super().__init__(message, headers={"Retry-After": "1"})


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """msgspec-encoded JSON; Starlette's JSONResponse goes through the slower json module."""
    return Response(_encode(body), status_code=status, media_type=JSON, headers=headers)


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_response(exc.status, exc.body(), exc.headers)


class CatchAll:
    """Answers the contract's 500 with a reference id, logged once with the stack trace;
    a client gone before its body ended gets no answer and no log.

    Starlette's ServerErrorMiddleware re-raises after answering, so the server would log the
    same failure a second time without the id; this middleware sits inside and swallows it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except ClientDisconnect:
            return  # the client left mid-body: nobody reads an answer, and nothing failed here
        except Exception as exc:
            reference_id = secrets.token_hex(8)
            logger.error(
                "unhandled error referenceId=%s %s %s",
                reference_id,
                scope.get("method"),
                scope.get("path"),
                exc_info=exc,
                extra={"reference_id": reference_id},
            )
            if started:
                return  # too late for a status line; the server closes the connection
            body = {**error_body(500, ApiError.default_message), "referenceId": reference_id}
            response = json_response(500, body, {"X-Reference-Id": reference_id})
            await response(scope, receive, send)
