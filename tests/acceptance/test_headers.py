"""nosniff on every response of both services, Referrer-Policy on the redirector, CSP on HTML."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.support.stacks import Stack

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}


def admin_responses(stack: Stack) -> list[httpx.Response]:
    link = stack.create(targetUrl="https://example.com/h")
    with httpx.Client(base_url=stack.admin_url, timeout=30) as anonymous:
        return [
            link,
            stack.admin("GET", "/api/v1/links"),
            stack.admin("GET", f"/api/v1/links/{link.json()['shortCode']}"),
            stack.create(targetUrl="javascript:x"),
            stack.admin("POST", "/api/v1/links", content=b"[", headers={"Content-Type": "x"}),
            stack.admin("POST", "/api/v1/links", content=b"a" * 70_000),
            stack.admin("GET", "/api/v1/links/nope1234"),
            stack.admin("PUT", "/api/v1/links"),  # DELETE is teardown by tag now
            stack.admin("POST", "/api/v1/keys", json={"name": "h"}),
            anonymous.get("/api/v1/links"),
            anonymous.get("/no/such/path"),
            anonymous.get("/openapi.json"),
            anonymous.get("/-/healthz"),
            anonymous.get("/-/readyz"),
            anonymous.get("/-/metrics"),
        ]


def test_every_admin_response_says_nosniff_and_no_store(stack: Stack) -> None:
    responses = admin_responses(stack)

    statuses = sorted({response.status_code for response in responses})
    assert statuses == [200, 201, 400, 401, 404, 405, 413]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response.request.url
        assert response.headers["cache-control"] == "no-store", response.request.url


def redirector_responses(stack: Stack) -> list[httpx.Response]:
    plain = stack.create_link(targetUrl="https://example.com/r")["shortCode"]
    locked = stack.create_link(targetUrl="https://example.com/p", password="pw")["shortCode"]
    revoked = stack.create_link(targetUrl="https://example.com/g")["shortCode"]
    stack.admin("POST", f"/api/v1/links/{revoked}/revoke")
    return [
        stack.visit("GET", f"/{plain}"),
        stack.visit("HEAD", f"/{plain}"),
        stack.visit("GET", f"/{locked}", headers=HTML),
        stack.visit("GET", f"/{locked}", headers=JSON),
        stack.visit("POST", f"/{locked}", data={"password": "wrong"}, headers=HTML),
        stack.visit("GET", f"/{revoked}", headers=HTML),
        stack.visit("GET", "/nope1234", headers=HTML),
        stack.visit("GET", "/nope1234", headers=JSON),
        stack.visit("GET", "/a/b/c", headers=HTML),
        stack.visit("DELETE", f"/{plain}", headers=HTML),
        stack.visit("GET", "/-/healthz"),
        stack.visit("GET", "/-/readyz"),
        stack.visit("GET", "/-/metrics"),
    ]


def test_every_redirector_response_says_nosniff_and_no_referrer(stack: Stack) -> None:
    responses = redirector_responses(stack)

    assert {302, 200, 401, 404, 405, 410} <= {response.status_code for response in responses}
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response.request.url
        assert response.headers["referrer-policy"] == "no-referrer", response.request.url


def test_every_html_page_has_a_strict_csp(stack: Stack) -> None:
    pages = [
        response
        for response in redirector_responses(stack)
        if response.headers.get("content-type", "").startswith("text/html")
    ]

    assert len(pages) >= 5
    for page in pages:
        policy = page.headers["content-security-policy"]
        assert policy.startswith("default-src 'none'"), page.request.url
        assert "frame-ancestors 'none'" in policy
        assert "script-src" not in policy and "'unsafe-inline'" not in policy


@pytest.mark.parametrize("policy", ["strict-origin-when-cross-origin", "same-origin"])
def test_referrer_policy_follows_the_setting(
    start_stack: Callable[..., Stack], policy: str
) -> None:
    stack = start_stack(SECURELINK_REFERRER_POLICY=policy)
    code = stack.create_link(targetUrl="https://example.com/s")["shortCode"]

    redirect = stack.visit("GET", f"/{code}")
    missing = stack.visit("GET", "/nope1234")

    assert redirect.status_code == 302
    assert redirect.headers["referrer-policy"] == policy
    assert missing.headers["referrer-policy"] == policy
