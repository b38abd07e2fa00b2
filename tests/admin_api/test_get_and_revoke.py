"""GET /api/v1/links/{code} (views and status as of now) and POST .../revoke (idempotent)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from redis.typing import EncodableT, FieldT
from starlette.testclient import TestClient

from shared.keys import Keys
from tests.support.links import create_link

NOT_FOUND = {"status": 404, "error": "Not Found", "message": "Link not found"}


def test_get_answers_the_link_as_created(admin_client: TestClient) -> None:
    created = create_link(admin_client, maxViews=3)

    response = admin_client.get(f"/api/v1/links/{created['shortCode']}")

    assert response.status_code == 200
    assert response.json() == created


def test_get_shows_views_counted_since(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_link(admin_client, maxViews=3)["shortCode"]
    viewed_ms = 1_800_000_000_000
    redis_sync.hset(Keys(key_prefix).link(code), mapping={"v": 2, "l": viewed_ms})

    link = admin_client.get(f"/api/v1/links/{code}").json()

    assert (link["views"], link["remainingViews"], link["status"]) == (2, 1, "active")
    assert link["lastViewedAt"] == "2027-01-15T08:00:00Z"


@pytest.mark.parametrize(
    ("fields", "stored", "status"),
    [
        ({"maxViews": 2}, {"v": 2}, "exhausted"),
        ({"expiresAt": "2099-01-01T00:00:00Z"}, {"e": 1_000}, "expired"),
        ({"maxViews": 2, "expiresAt": "2099-01-01T00:00:00Z"}, {"v": 2, "e": 1_000}, "expired"),
    ],
)
def test_get_reports_the_status_as_of_now(
    admin_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
    fields: dict[str, Any],
    stored: dict[FieldT, EncodableT],
    status: str,
) -> None:
    code = create_link(admin_client, **fields)["shortCode"]
    redis_sync.hset(Keys(key_prefix).link(code), mapping=stored)  # time has passed

    link = admin_client.get(f"/api/v1/links/{code}").json()

    assert link["status"] == status


@pytest.mark.parametrize("code", ["unknown1", "abc", "a.b.c.d", "x" * 65])
def test_get_of_an_unknown_or_invalid_code_is_404(admin_client: TestClient, code: str) -> None:
    response = admin_client.get(f"/api/v1/links/{code}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_revoke_answers_the_link_revoked(admin_client: TestClient) -> None:
    created = create_link(admin_client, maxViews=3)

    response = admin_client.post(f"/api/v1/links/{created['shortCode']}/revoke")

    assert response.status_code == 200
    assert response.json() == {**created, "status": "revoked"}


def test_revoked_link_reads_back_revoked(admin_client: TestClient) -> None:
    code = create_link(admin_client)["shortCode"]
    admin_client.post(f"/api/v1/links/{code}/revoke")

    link = admin_client.get(f"/api/v1/links/{code}").json()

    assert link["status"] == "revoked"


def test_revoke_is_idempotent(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_link(admin_client)["shortCode"]
    key = Keys(key_prefix).link(code)
    first = admin_client.post(f"/api/v1/links/{code}/revoke")
    revoked_at = redis_sync.hget(key, "r")
    ttl_after_first = redis_sync.pttl(key)
    time.sleep(0.01)

    second = admin_client.post(f"/api/v1/links/{code}/revoke")

    assert second.status_code == 200
    assert second.json() == first.json()
    assert redis_sync.hget(key, "r") == revoked_at
    assert redis_sync.pttl(key) <= ttl_after_first


def test_revoking_an_expired_link_reports_it_revoked(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_link(admin_client, expiresAt="2099-01-01T00:00:00Z")["shortCode"]
    redis_sync.hset(Keys(key_prefix).link(code), "e", 1_000)

    response = admin_client.post(f"/api/v1/links/{code}/revoke")

    assert response.json()["status"] == "revoked"


@pytest.mark.parametrize("code", ["unknown1", "abc"])
def test_revoke_of_an_unknown_code_is_404_and_creates_nothing(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str, code: str
) -> None:
    response = admin_client.post(f"/api/v1/links/{code}/revoke")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert list(redis_sync.scan_iter(match=f"{key_prefix}:*")) == []
