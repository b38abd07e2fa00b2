"""The errors an admin API handler raises, each answered as the contract's JSON error body."""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from shared.errors import INTERNAL_ERROR, error_body, json_response


class ApiError(Exception):
    """Base of the errors a handler may raise; never raised itself."""

    status: ClassVar[int] = 500
    default_message: ClassVar[str] = INTERNAL_ERROR

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


class NothingToChange(ApiError):
    status = 400
    default_message = "Nothing to change"


class RevokedLinkUnchangeable(ApiError):
    status = 409
    default_message = "A revoked link cannot be changed"


class IdempotencyInProgress(ApiError):
    status = 409
    default_message = "A request with this Idempotency-Key is in progress"


class IdempotencyMismatch(ApiError):
    status = 422
    default_message = "Idempotency-Key was used with a different request"


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_response(exc.status, exc.body(), exc.headers)
