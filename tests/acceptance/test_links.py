"""The admin API as a real process: the validation table, 201/404/409/413, revoke, TTLs in Redis."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
import redis

from shared.keys import Keys
from tests.admin_api.validation_cases import (
    ACCEPTED,
    ALL_WRONG,
    ALL_WRONG_ERRORS,
    MALFORMED,
    MALFORMED_BODY,
    REJECTED,
    validation_body,
)
from tests.support.stacks import Stack

RETENTION_MS = 604800 * 1000  # the stacks' SECURELINK_RETENTION_SECONDS


@pytest.mark.parametrize(
    ("fields", "error"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED]
)
def test_invalid_field_is_refused_with_its_message(
    stack: Stack, fields: dict[str, Any], error: str
) -> None:
    response = stack.create(**fields)

    assert response.status_code == 400
    assert response.json() == validation_body([error])


def test_every_failing_field_is_listed_at_once_in_field_order(stack: Stack) -> None:
    response = stack.create(**ALL_WRONG)

    assert response.status_code == 400
    assert response.json() == validation_body(ALL_WRONG_ERRORS)


@pytest.mark.parametrize("fields", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_edge_of_each_rule_is_accepted(stack: Stack, fields: dict[str, Any]) -> None:
    response = stack.create(**fields)

    assert response.status_code == 201, response.text


@pytest.mark.parametrize("body", [c[1] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_body_that_is_not_a_json_object_is_malformed(stack: Stack, body: bytes) -> None:
    response = stack.admin(
        "POST", "/api/v1/links", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json() == MALFORMED_BODY


def test_body_over_64_kib_is_refused_with_413(stack: Stack) -> None:
    body = b'{"targetUrl": "https://example.com/", "pad": "' + b"x" * 65536 + b'"}'

    declared = stack.admin("POST", "/api/v1/links", content=body)
    streamed = stack.admin("POST", "/api/v1/links", content=iter([body[:1000], body[1000:]]))

    assert declared.status_code == 413
    assert streamed.status_code == 413


def test_created_link_reads_back_with_get(stack: Stack) -> None:
    response = stack.create(targetUrl="https://example.com/a", maxViews=5, password="pw")

    link = response.json()
    fetched = stack.admin("GET", response.headers["location"])
    assert response.status_code == 201
    assert response.headers["location"] == f"/api/v1/links/{link['shortCode']}"
    assert link["shortUrl"] == f"{stack.redirector_url}/{link['shortCode']}"
    assert (link["views"], link["remainingViews"], link["passwordProtected"]) == (0, 5, True)
    assert fetched.status_code == 200
    assert fetched.json() == link


def test_taken_custom_code_answers_409(stack: Stack) -> None:
    stack.create_link(targetUrl="https://example.com/1", customCode="acceptance-409")

    response = stack.create(targetUrl="https://example.com/2", customCode="acceptance-409")

    assert response.status_code == 409
    assert response.json() == {
        "status": 409,
        "error": "Conflict",
        "message": "customCode is already taken",
    }


def test_unknown_code_answers_404(stack: Stack) -> None:
    got = stack.admin("GET", "/api/v1/links/NoSuchCode1")
    revoked = stack.admin("POST", "/api/v1/links/NoSuchCode1/revoke")

    body = {"status": 404, "error": "Not Found", "message": "Link not found"}
    assert (got.status_code, got.json()) == (404, body)
    assert (revoked.status_code, revoked.json()) == (404, body)


def test_revoke_is_idempotent(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/")["shortCode"]

    first = stack.admin("POST", f"/api/v1/links/{code}/revoke")
    second = stack.admin("POST", f"/api/v1/links/{code}/revoke")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == "revoked"
    assert second.json() == first.json()


def test_wrong_key_gets_401(stack: Stack) -> None:
    response = stack.admin("GET", "/api/v1/links", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "error": "Unauthorized",
        "message": "Missing or invalid API key",
    }


def test_batch_answers_each_item_in_order(stack: Stack) -> None:
    response = stack.admin(
        "POST",
        "/api/v1/links/batch",
        json={"links": [{"targetUrl": "https://example.com/"}, {"targetUrl": "nope"}]},
    )

    results = response.json()["results"]
    assert response.status_code == 200
    assert [(r["index"], r["status"]) for r in results] == [(0, 201), (1, 400)]
    assert results[1]["errors"] == ["targetUrl: must be a valid URL"]


def test_list_pages_newest_first(start_stack: Any) -> None:
    own: Stack = start_stack()  # an index of this test's own
    codes = [own.create_link(targetUrl=f"https://example.com/{i}")["shortCode"] for i in range(3)]

    first = own.admin("GET", "/api/v1/links", params={"limit": 2}).json()
    second = own.admin(
        "GET", "/api/v1/links", params={"limit": 2, "cursor": first["nextCursor"]}
    ).json()

    assert [link["shortCode"] for link in first["items"]] == codes[:0:-1]
    assert [link["shortCode"] for link in second["items"]] == codes[:1]
    assert second["nextCursor"] is None


def test_ttls_read_back_from_redis(stack: Stack, redis_sync: redis.Redis) -> None:
    keys = Keys(stack.prefix)
    expires_at = "2099-03-01T12:00:00Z"
    expiring = stack.create_link(targetUrl="https://example.com/", expiresAt=expires_at)
    forever = stack.create_link(targetUrl="https://example.com/", maxViews=3)
    revoked = stack.create_link(targetUrl="https://example.com/", expiresAt=expires_at)
    stack.admin("POST", f"/api/v1/links/{revoked['shortCode']}/revoke")

    expire_time = redis_sync.pexpiretime(keys.link(expiring["shortCode"]))
    no_ttl = redis_sync.pttl(keys.link(forever["shortCode"]))
    revoked_ttl = redis_sync.pttl(keys.link(revoked["shortCode"]))

    expires_ms = int(datetime.fromisoformat(expires_at).timestamp() * 1000)
    assert expire_time == expires_ms + RETENTION_MS
    assert no_ttl == -1
    assert RETENTION_MS - 10_000 < revoked_ttl <= RETENTION_MS


def test_service_endpoints_answer(stack: Stack) -> None:
    with httpx.Client(base_url=stack.admin_url) as client:
        health = client.get("/-/healthz")
        ready = client.get("/-/readyz")
        metrics = client.get("/-/metrics")
        openapi = client.get("/openapi.json")

    assert (health.status_code, ready.status_code, metrics.status_code) == (200, 200, 200)
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert openapi.json()["openapi"].startswith("3.1")
