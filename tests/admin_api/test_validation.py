"""POST /api/v1/links refuses every bad request with the contract's exact texts, storing nothing."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from tests.admin_api.validation_cases import (
    ACCEPTED,
    ALL_WRONG,
    ALL_WRONG_ERRORS,
    MALFORMED,
    MALFORMED_BODY,
    REJECTED,
    validation_body,
)

MAX_JSON_BYTES = 64 * 1024


def _stored_keys(client: redis.Redis, prefix: str) -> list[bytes]:
    return list(client.scan_iter(match=f"{prefix}:*"))


@pytest.mark.parametrize(
    ("fields", "error"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED]
)
def test_invalid_field_is_refused_with_its_message(
    admin_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
    fields: dict[str, Any],
    error: str,
) -> None:
    response = admin_client.post("/api/v1/links", json=fields)

    assert response.status_code == 400
    assert response.json() == validation_body([error])
    assert _stored_keys(redis_sync, key_prefix) == []


def test_every_failing_field_is_listed_at_once_in_field_order(admin_client: TestClient) -> None:
    response = admin_client.post("/api/v1/links", json=ALL_WRONG)

    assert response.status_code == 400
    assert response.json() == validation_body(ALL_WRONG_ERRORS)


@pytest.mark.parametrize("fields", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_edge_of_each_rule_is_accepted(admin_client: TestClient, fields: dict[str, Any]) -> None:
    response = admin_client.post("/api/v1/links", json=fields)

    assert response.status_code == 201, response.text


def test_unknown_fields_are_ignored(admin_client: TestClient) -> None:
    response = admin_client.post(
        "/api/v1/links", json={"targetUrl": "https://example.com/", "views": 99}
    )

    assert response.status_code == 201
    assert response.json()["views"] == 0


def test_unicode_host_is_stored_in_punycode(admin_client: TestClient) -> None:
    response = admin_client.post("/api/v1/links", json={"targetUrl": "https://bücher.example/a"})

    assert response.json()["targetUrl"] == "https://xn--bcher-kva.example/a"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # UTS-46 non-transitional, as browsers: not the IDNA 2003 strasse.de, fass.de, or sigma.gr.
        ("https://straße.de/", "https://xn--strae-oqa.de/"),
        ("https://faß.de/", "https://xn--fa-hia.de/"),
        ("https://ς.gr/", "https://xn--3xa.gr/"),
        ("https://Bücher.DE:8443/x", "https://xn--bcher-kva.de:8443/x"),
        ("https://l·l.cat/", "https://xn--ll-0ea.cat/"),
        ("https://xn--strae-oqa.de/", "https://xn--strae-oqa.de/"),
        ("https://Example.COM./a", "https://Example.COM./a"),
        ("https://_dmarc.example/", "https://_dmarc.example/"),
        ("https://[::1]:8080/", "https://[::1]:8080/"),
    ],
)
def test_hosts_are_stored_as_browsers_resolve_them(
    admin_client: TestClient, typed: str, stored: str
) -> None:
    response = admin_client.post("/api/v1/links", json={"targetUrl": typed})

    assert response.status_code == 201, response.text
    assert response.json()["targetUrl"] == stored


def test_non_ascii_path_query_and_fragment_are_stored_percent_encoded(
    admin_client: TestClient,
) -> None:
    response = admin_client.post("/api/v1/links", json={"targetUrl": "https://a.example/€?q=é#à"})

    assert response.status_code == 201
    assert response.json()["targetUrl"] == "https://a.example/%E2%82%AC?q=%C3%A9#%C3%A0"


def test_only_non_ascii_characters_of_a_target_are_encoded(admin_client: TestClient) -> None:
    target = "https://bücher.example/a%20b/ü;x=1?y=%2F&z=ß#top/?ü"

    response = admin_client.post("/api/v1/links", json={"targetUrl": target})

    assert response.json()["targetUrl"] == (
        "https://xn--bcher-kva.example/a%20b/%C3%BC;x=1?y=%2F&z=%C3%9F#top/?%C3%BC"
    )


@pytest.mark.parametrize("body", [c[1] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_body_that_is_not_a_json_object_is_malformed(admin_client: TestClient, body: bytes) -> None:
    response = admin_client.post(
        "/api/v1/links", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json() == MALFORMED_BODY


def _padded_body(size: int) -> bytes:
    """A valid create request padded with JSON whitespace to exactly `size` bytes."""
    body = b'{"targetUrl": "https://example.com/"}'
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_body_of_exactly_64_kib_is_accepted(admin_client: TestClient) -> None:
    response = admin_client.post("/api/v1/links", content=_padded_body(MAX_JSON_BYTES))

    assert response.status_code == 201


def test_body_over_64_kib_is_refused_with_413(admin_client: TestClient) -> None:
    response = admin_client.post("/api/v1/links", content=_padded_body(MAX_JSON_BYTES + 1))

    assert response.status_code == 413
    assert response.json() == {
        "status": 413,
        "error": HTTPStatus(413).phrase,
        "message": "Request body exceeds 65536 bytes",
    }


def test_chunked_body_over_64_kib_is_refused_with_413(admin_client: TestClient) -> None:
    def chunks() -> Any:
        yield b'{"targetUrl": "https://example.com/", "pad": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}'

    response = admin_client.post("/api/v1/links", content=chunks())

    assert response.status_code == 413
