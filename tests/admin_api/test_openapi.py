"""The OpenAPI document's hand-built patterns say exactly what the server accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from admin_api.openapi import _year_at_least, openapi_document
from shared.settings import Settings


@pytest.mark.parametrize("year", [2026, 2027, 2099, 2100, 8999, 9000, 9998])
def test_expiry_pattern_matches_exactly_next_year_to_9998(year: int) -> None:
    pattern = re.compile(_year_at_least(year))

    matched = [y for y in range(10000) if pattern.match(f"{y:04d}-01-01T00:00:00Z")]

    assert matched == list(range(year, 9999))


def test_expiry_pattern_starts_at_the_year_after_now() -> None:
    document = openapi_document(Settings(), now=datetime(2026, 11, 25, tzinfo=UTC))

    expires = document["components"]["schemas"]["CreateLinkRequestDto"]["properties"]["expiresAt"]

    assert re.match(expires["pattern"], "2027-01-01T00:00:00Z")
    assert not re.match(expires["pattern"], "2026-12-31T00:00:00Z")
