"""Errors become the contract's JSON; a surprise becomes the 500 with a reference id."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from admin_api.errors import (
    ApiError,
    Conflict,
    MalformedBody,
    NotFound,
    StorageUnavailable,
    Unauthorized,
    ValidationFailed,
    api_error_handler,
)
from shared.errors import CLIENT_LEFT, CatchAll

REFERENCE_ID = re.compile(r"[0-9a-f]{16}")


async def _explode(request: Request) -> Response:
    raise RuntimeError("boom")


async def _raise_not_found(request: Request) -> Response:
    raise NotFound()


async def _explode_mid_stream(request: Request) -> Response:
    async def chunks() -> object:
        yield b"partial"
        raise RuntimeError("late boom")

    return StreamingResponse(chunks())  # type: ignore[arg-type]


def _app() -> Starlette:
    return Starlette(
        routes=[
            Route("/explode", _explode),
            Route("/missing", _raise_not_found),
            Route("/stream", _explode_mid_stream),
        ],
        middleware=[Middleware(CatchAll)],
        exception_handlers={ApiError: api_error_handler},
    )


def _records_mentioning(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if text in record.getMessage()]


def test_unexpected_error_answers_500_with_a_reference_id(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(_app()) as client:
        response = client.get("/explode")

    reference_id = response.headers["x-reference-id"]
    assert REFERENCE_ID.fullmatch(reference_id)
    assert response.status_code == 500
    assert response.json() == {
        "status": 500,
        "error": "Internal Server Error",
        "message": "An unexpected error occurred",
        "referenceId": reference_id,
    }


def test_unexpected_error_is_logged_once_with_its_id_and_stack_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with TestClient(_app()) as client:
        response = client.get("/explode")

    reference_id = response.headers["x-reference-id"]
    [record] = _records_mentioning(caplog, reference_id)
    assert record.levelno == logging.ERROR
    assert record.getMessage() == f"unhandled error referenceId={reference_id} GET /explode"
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "boom"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == [record]


def test_each_failure_gets_its_own_reference_id() -> None:
    with TestClient(_app()) as client:
        first = client.get("/explode").headers["x-reference-id"]
        second = client.get("/explode").headers["x-reference-id"]

    assert first != second


def test_failure_after_the_response_started_is_logged_once_and_not_answered_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with TestClient(_app()) as client:
        response = client.get("/stream")

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert response.status_code == 200
    assert response.content == b"partial"
    assert len(errors) == 1
    assert errors[0].getMessage().endswith("GET /stream")
    assert errors[0].exc_info is not None


def test_api_errors_answer_their_own_status_without_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with TestClient(_app()) as client:
        response = client.get("/missing")

    assert response.status_code == 404
    assert response.json() == {"status": 404, "error": "Not Found", "message": "Link not found"}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_client_leaving_mid_body_gets_no_answer_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def read_the_body(scope: Scope, receive: Receive, send: Send) -> None:
        await Request(scope, receive).body()

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/links", "headers": []}

    asyncio.run(CatchAll(read_the_body)(scope, receive, send))

    assert sent == []
    assert scope[CLIENT_LEFT] is True  # the latency sample says 499, not 500
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    ("error", "body"),
    [
        (
            ValidationFailed(["targetUrl: must not be blank"]),
            {
                "status": 400,
                "error": "Bad Request",
                "message": "Validation failed",
                "errors": ["targetUrl: must not be blank"],
            },
        ),
        (
            MalformedBody(),
            {"status": 400, "error": "Bad Request", "message": "Malformed JSON body"},
        ),
        (
            Unauthorized(),
            {"status": 401, "error": "Unauthorized", "message": "Missing or invalid API key"},
        ),
        (
            Conflict(),
            {"status": 409, "error": "Conflict", "message": "customCode is already taken"},
        ),
        (
            StorageUnavailable(),
            {
                "status": 503,
                "error": "Service Unavailable",
                "message": "Storage is unavailable, retry shortly",
            },
        ),
    ],
)
def test_error_bodies_follow_the_contract(error: ApiError, body: dict[str, object]) -> None:
    assert error.body() == body


def test_unauthorized_and_unavailable_carry_their_headers() -> None:
    assert Unauthorized().headers == {"WWW-Authenticate": "Bearer"}
    assert StorageUnavailable().headers == {"Retry-After": "1"}
