"""Hostile input to the admin API, each with the answer it must get; never a 500."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.stacks import Stack

URL = "targetUrl: must be a valid URL"
ISO = "expiresAt: must be an ISO 8601 date-time with offset"
INTEGER = "maxViews: must be an integer"
AT_MOST = "maxViews: must be at most 2147483647"
MALFORMED = {"status": 400, "error": "Bad Request", "message": "Malformed JSON body"}


def rejected(errors: list[str]) -> dict[str, Any]:
    return {"status": 400, "error": "Bad Request", "message": "Validation failed", "errors": errors}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"targetUrl": "javascript:alert(1)"}, [URL]),
        ({"targetUrl": "JavaScript://example.com/%0aalert(1)"}, [URL]),
        ({"targetUrl": "data:text/html,<script>alert(1)</script>"}, [URL]),
        ({"targetUrl": "file:///etc/passwd"}, [URL]),
        ({"targetUrl": "ftp://example.com/a"}, [URL]),
        ({"targetUrl": "//example.com/a"}, [URL]),
        ({"targetUrl": "https://example.com/a\r\nSet-Cookie: x=1"}, [URL]),
        ({"targetUrl": "https://example.com/\x00"}, [URL]),
        ({"targetUrl": "https://example.com/\x7f"}, [URL]),
        ({"targetUrl": "https://example.com/a\tb"}, [URL]),
        ({"targetUrl": "https://exa\u200bmple.com/"}, [URL]),
        ({"targetUrl": "https://example.com\\@evil.example/"}, [URL]),
        ({"targetUrl": "https://trusted.example@evil.example/"}, [URL]),
        ({"targetUrl": "https://trusted.example:pw@evil.example/"}, [URL]),
        ({"targetUrl": "https://" + "a" * 2041 + ".com"}, [URL]),
        ({"targetUrl": "https://example.com:99999/"}, [URL]),
        ({"targetUrl": "https://[::1/"}, [URL]),
        ({"targetUrl": 12}, [URL]),
        ({"targetUrl": "https://example.com", "expiresAt": "2099-01-01T00:00:00"}, [ISO]),
        ({"targetUrl": "https://example.com", "expiresAt": "2099-01-01"}, [ISO]),
        ({"targetUrl": "https://example.com", "expiresAt": 4102444800}, [ISO]),
        ({"targetUrl": "https://example.com", "expiresAt": "9999-12-31T23:59:59-14:00"}, [ISO]),
        ({"targetUrl": "https://example.com", "expiresAt": "+10000-01-01T00:00:00Z"}, [ISO]),
        ({"targetUrl": "https://example.com", "maxViews": 2.5}, [INTEGER]),
        ({"targetUrl": "https://example.com", "maxViews": "5"}, [INTEGER]),
        ({"targetUrl": "https://example.com", "maxViews": True}, [INTEGER]),
        ({"targetUrl": "https://example.com", "maxViews": [5]}, [INTEGER]),
        ({"targetUrl": "https://example.com", "maxViews": 2147483648}, [AT_MOST]),
        ({"targetUrl": "https://example.com", "maxViews": 10**30}, [AT_MOST]),
        ({"targetUrl": "https://example.com", "maxViews": 1e300}, [AT_MOST]),
        (
            {"targetUrl": "https://example.com", "customCode": "../../etc"},
            ["customCode: must match [A-Za-z0-9_-]{4,64}"],
        ),
        (
            {"targetUrl": "https://example.com", "customCode": "abcd\n"},
            ["customCode: must match [A-Za-z0-9_-]{4,64}"],
        ),
    ],
)
def test_hostile_link_request_is_rejected_with_its_text(
    stack: Stack, body: dict[str, Any], errors: list[str]
) -> None:
    response = stack.create(**body)

    assert response.status_code == 400
    assert response.json() == rejected(errors)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("https://bücher.example/x?q=1", "https://xn--bcher-kva.example/x?q=1"),
        ("https://ÄÖÜ.example:8443/", "https://xn--4ca0bs.example:8443/"),
        ("HTTPS://example.com/a", "https://example.com/a"),
    ],
)
def test_unicode_host_is_stored_in_punycode(stack: Stack, sent: str, stored: str) -> None:
    link = stack.create_link(targetUrl=sent)

    assert link["targetUrl"] == stored


def test_url_of_2048_characters_is_accepted(stack: Stack) -> None:
    url = "https://example.com/" + "a" * (2048 - len("https://example.com/"))

    link = stack.create_link(targetUrl=url)

    assert link["targetUrl"] == url


def test_integral_float_max_views_is_the_integer(stack: Stack) -> None:
    link = stack.create_link(targetUrl="https://example.com", maxViews=5.0)

    assert link["maxViews"] == 5


def test_expiry_in_year_9999_is_accepted(stack: Stack) -> None:
    link = stack.create_link(targetUrl="https://example.com", expiresAt="9999-12-31T23:59:59Z")

    assert link["expiresAt"] == "9999-12-31T23:59:59Z"


def test_lower_case_rfc3339_expiry_is_accepted(stack: Stack) -> None:
    link = stack.create_link(targetUrl="https://example.com", expiresAt="2099-01-01t00:00:00z")

    assert link["expiresAt"] == "2099-01-01T00:00:00Z"


def test_unknown_fields_are_ignored(stack: Stack) -> None:
    response = stack.create(targetUrl="https://example.com", views=99, status="revoked", x={})

    assert response.status_code == 201
    assert (response.json()["views"], response.json()["status"]) == (0, "active")


def post_raw(stack: Stack, path: str, content: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    return stack.admin("POST", path, content=content, headers=headers)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"[]",
        b'"https://example.com"',
        b"null",
        b'{"targetUrl": "https://example.com"',
        b'{"targetUrl": "https://example.com/\xff"}',
        b'{"targetUrl": "https://example.com/\xed\xa0\x80"}',
        b'{"targetUrl": "\\ud800"}',
        b'{"maxViews": NaN}',
        b'{"a":' * 10000 + b"1" + b"}" * 10000,
        b"[" * 30000 + b"]" * 30000,
    ],
    ids=[
        "empty",
        "array",
        "string",
        "null",
        "truncated",
        "invalid-utf8",
        "utf8-surrogate",
        "lone-surrogate-escape",
        "nan",
        "nested-objects",
        "nested-arrays",
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/links", "/api/v1/links/batch", "/api/v1/keys"])
def test_body_that_is_not_a_json_object_answers_400(
    stack: Stack, path: str, content: bytes
) -> None:
    response = post_raw(stack, path, content)

    assert response.status_code == 400
    assert response.json() == MALFORMED


@pytest.mark.parametrize("path", ["/api/v1/links", "/api/v1/keys"])
def test_body_over_64_kib_answers_413(stack: Stack, path: str) -> None:
    content = b'{"targetUrl": "https://example.com/", "pad": "' + b"a" * 65536 + b'"}'

    response = post_raw(stack, path, content)

    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_batch_body_over_4_mib_answers_413(stack: Stack) -> None:
    content = b'{"links": [], "pad": "' + b"a" * (4 * 1024 * 1024) + b'"}'

    response = post_raw(stack, "/api/v1/links/batch", content)

    assert response.status_code == 413
    assert response.json()["message"] == "Request body exceeds 4194304 bytes"


def test_batch_of_1000_links_over_64_kib_is_accepted(stack: Stack) -> None:
    url = "https://example.com/" + "p" * 200
    body = {"links": [{"targetUrl": f"{url}/{i}"} for i in range(1000)]}

    response = stack.admin("POST", "/api/v1/links/batch", json=body)

    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == [201] * 1000


def test_body_over_64_kib_without_content_length_answers_413(stack: Stack) -> None:
    def chunks() -> Any:
        yield b'{"targetUrl": "https://example.com/", "pad": "'
        for _ in range(20):
            yield b"a" * 4096
        yield b'"}'

    response = stack.admin(
        "POST", "/api/v1/links", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413


@pytest.mark.parametrize("service", ["admin", "redirector"])
def test_header_of_1_mb_gets_431_or_a_closed_connection(stack: Stack, service: str) -> None:
    url = urlsplit(stack.admin_url if service == "admin" else stack.redirector_url)
    request = b"GET /-/healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"

    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        try:
            sock.sendall(request)
        except OSError:
            answer = b""  # closed before we finished sending: also a refusal
        else:
            answer = b""
            try:
                while chunk := sock.recv(65536):
                    answer += chunk
            except ConnectionResetError:
                pass  # closed with our unread bytes still in its buffer: a refusal too

    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")


@pytest.mark.parametrize("service", ["admin", "redirector"])
def test_many_small_headers_of_500_kb_get_431(stack: Stack, service: str) -> None:
    base = stack.admin_url if service == "admin" else stack.redirector_url
    # 530 KB: more than one read (256 KiB), so the head is still incomplete past 64 KiB.
    headers = {f"X-H{i}": "a" * 100 for i in range(5000)}

    with httpx.Client(base_url=base, timeout=10) as client:
        try:
            status = client.get("/-/healthz", headers=headers).status_code
        except httpx.TransportError:
            status = 0  # connection closed: also a refusal

    assert status in (0, 431)


def test_headers_under_the_limit_are_served(stack: Stack) -> None:
    response = stack.admin("GET", "/api/v1/links", headers={"X-Big": "a" * 32_000})

    assert response.status_code == 200
