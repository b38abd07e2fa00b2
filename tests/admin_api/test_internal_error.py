"""An unexpected failure: the contract's 500, its reference id in the header, one log line."""

from __future__ import annotations

import logging
import re

import pytest
from starlette.testclient import TestClient

from admin_api.links import Links


class _Bug(Exception):
    pass


async def _failing_get(self: Links, code: str) -> None:
    raise _Bug("links.get is broken")


def test_unexpected_failure_answers_500_with_a_reference_id(
    admin_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Links, "get", _failing_get)

    response = admin_client.get("/api/v1/links/abcd")

    reference_id = response.headers["x-reference-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", reference_id)
    assert response.status_code == 500
    assert response.json() == {
        "status": 500,
        "error": "Internal Server Error",
        "message": "An unexpected error occurred",
        "referenceId": reference_id,
    }
    assert "links.get is broken" not in response.text


def test_unexpected_failure_is_logged_once_with_the_id_and_stack_trace(
    admin_client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(Links, "get", _failing_get)

    reference_id = admin_client.get("/api/v1/links/abcd").headers["x-reference-id"]

    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    [record] = errors
    assert reference_id in record.getMessage()
    assert "GET /api/v1/links/abcd" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], _Bug)
    formatted = logging.Formatter().format(record)
    assert "Traceback (most recent call last)" in formatted
    assert "_failing_get" in formatted
