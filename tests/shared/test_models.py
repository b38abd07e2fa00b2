"""The Link model: status as of a moment, wire form, and its build from a stored hash."""

from __future__ import annotations

import msgspec
import pytest

from shared.models import FileLink, Link, Status, format_ms, link_from_hash, link_status

T0 = 1_800_000_000_000  # 2027-01-15T08:00:00Z


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, Status.ACTIVE),
        ({"e": str(T0 + 1)}, Status.ACTIVE),
        ({"e": str(T0)}, Status.EXPIRED),
        ({"m": "2", "v": "1"}, Status.ACTIVE),
        ({"m": "2", "v": "2"}, Status.EXHAUSTED),
        ({"m": "2", "v": "2", "e": str(T0)}, Status.EXPIRED),
        ({"m": "2", "v": "2", "e": str(T0), "r": str(T0 - 5)}, Status.REVOKED),
    ],
)
def test_status_puts_revocation_before_expiry_before_exhaustion(
    fields: dict[str, str], status: Status
) -> None:
    assert link_status({"t": "https://example.com/", **fields}, T0) is status


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (T0, "2027-01-15T08:00:00Z"),
        (T0 + 7, "2027-01-15T08:00:00.007Z"),
        (0, "1970-01-01T00:00:00Z"),
    ],
)
def test_times_are_iso_8601_utc_with_milliseconds_only_when_present(ms: int, text: str) -> None:
    assert format_ms(ms) == text


def test_url_link_from_hash_has_every_contract_field() -> None:
    raw = {b"t": b"https://example.com/a", b"c": str(T0 // 1000).encode(), b"m": b"5", b"v": b"2"}

    link = link_from_hash("Xk3p9QaZ2m", raw, public_base_url="http://localhost:8080", at_ms=T0)

    assert msgspec.json.decode(msgspec.json.encode(link)) == {
        "shortCode": "Xk3p9QaZ2m",
        "shortUrl": "http://localhost:8080/Xk3p9QaZ2m",
        "targetUrl": "https://example.com/a",
        "kind": "url",
        "expiresAt": None,
        "maxViews": 5,
        "views": 2,
        "remainingViews": 3,
        "passwordProtected": False,
        "status": "active",
        "createdAt": "2027-01-15T08:00:00Z",
        "lastViewedAt": None,
        "tags": [],
        "clickToOpen": False,
    }


def test_link_from_hash_reads_optional_fields() -> None:
    raw = {
        "t": "https://example.com/",
        "c": str(T0 // 1000),
        "e": str(T0 + 60_000),
        "p": "$argon2id$...",
        "l": str(T0 + 1),
    }

    link = link_from_hash("abcd", raw, public_base_url="https://sl.example", at_ms=T0 + 2)

    assert type(link) is Link
    assert link.expires_at == "2027-01-15T08:01:00Z"
    assert link.max_views is None
    assert link.views == 0
    assert link.remaining_views is None
    assert link.password_protected is True
    assert link.last_viewed_at == "2027-01-15T08:00:00.001Z"


def test_remaining_views_never_go_below_zero() -> None:
    raw = {"t": "https://example.com/", "c": str(T0 // 1000), "m": "1", "v": "3"}

    link = link_from_hash("abcd", raw, public_base_url="https://sl.example", at_ms=T0)

    assert link.remaining_views == 0
    assert link.status is Status.EXHAUSTED


def test_file_link_from_hash_carries_the_file_fields_and_no_target() -> None:
    raw = {
        "t": "stored-name",
        "k": "f",
        "c": str(T0 // 1000),
        "fn": "report.pdf",
        "fs": "1234",
        "ct": "application/pdf",
        "fh": "00" * 32,
    }

    link = link_from_hash("abcd", raw, public_base_url="https://sl.example", at_ms=T0)

    assert isinstance(link, FileLink)
    assert link.kind == "file"
    assert link.target_url is None
    assert (link.file_name, link.file_size, link.content_type) == (
        "report.pdf",
        1234,
        "application/pdf",
    )
