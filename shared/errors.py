"""The contract's error body and JSON response, and the catch-all that answers surprises.

Both services use these; the errors a handler raises belong to their service
(admin_api/errors.py; the redirector answers through its Responder).
"""

from __future__ import annotations

import logging
import secrets
from http import HTTPStatus
from typing import Any

import msgspec
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("securelink")

JSON = "application/json"
# The 500's message, in both services.
INTERNAL_ERROR = "An unexpected error occurred"
# Set in the scope when the client left before the request's body ended (no answer was sent).
CLIENT_LEFT = "securelink.client_left"
_encode = msgspec.json.Encoder().encode


def error_body(status: int, message: str) -> dict[str, Any]:
    """The contract's error object: status, its reason phrase, and a message."""
    return {"status": status, "error": HTTPStatus(status).phrase, "message": message}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """msgspec-encoded JSON; Starlette's JSONResponse goes through the slower json module."""
    return Response(_encode(body), status_code=status, media_type=JSON, headers=headers)


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
            # The client left mid-body: nobody reads an answer, and nothing failed here.
            scope[CLIENT_LEFT] = True
            return
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
            body = {**error_body(500, INTERNAL_ERROR), "referenceId": reference_id}
            response = json_response(500, body, {"X-Reference-Id": reference_id})
            await response(scope, receive, send)
