"""PATCH /api/v1/links/{code}: the create rules, one atomic step, TTL recomputed, views kept."""

from __future__ import annotations

import time
from typing import Any

import redis
from starlette.testclient import TestClient

from shared.keys import Keys
from tests.support.links import create_link
from tests.support.raw import raw_field

RETENTION_MS = 604_800 * 1000


def _patch(client: TestClient, code: str, body: Any) -> Any:
    return client.patch(f"/api/v1/links/{code}", json=body)


def test_patch_changes_the_named_fields_only(admin_client: TestClient) -> None:
    code = create_link(admin_client, maxViews=3, tags=["a"])["shortCode"]

    response = _patch(
        admin_client,
        code,
        {"targetUrl": "https://example.org/b", "tags": ["b", "c", "b"], "clickToOpen": True},
    )

    link = response.json()
    assert response.status_code == 200
    assert link["targetUrl"] == "https://example.org/b"
    assert link["maxViews"] == 3
    assert link["tags"] == ["b", "c"]
    assert link["clickToOpen"] is True
    assert admin_client.get(f"/api/v1/links/{code}").json() == link


def test_null_clears_expiry_limit_and_password(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_link(admin_client, maxViews=3, password="pw", expiresAt="2999-01-01T00:00:00Z")[
        "shortCode"
    ]

    link = _patch(admin_client, code, {"expiresAt": None, "maxViews": None, "password": None})

    body = link.json()
    assert (body["expiresAt"], body["maxViews"], body["passwordProtected"]) == (None, None, False)
    assert redis_sync.pttl(Keys(key_prefix).link(code)) == -1


def test_new_expiry_sets_the_keys_ttl_to_expiry_plus_retention(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_link(admin_client)["shortCode"]

    _patch(admin_client, code, {"expiresAt": "2999-01-01T00:00:00Z"})

    expire_at = redis_sync.pexpiretime(Keys(key_prefix).link(code))
    assert expire_at == 32472144000000 + RETENTION_MS


def test_a_new_password_is_stored_as_an_argon2id_hash(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_link(admin_client)["shortCode"]

    body = _patch(admin_client, code, {"password": "s3cret"}).json()

    stored = raw_field(redis_sync, Keys(key_prefix).link(code), "p")
    assert body["passwordProtected"] is True
    assert stored is not None and stored.startswith(b"$argon2id$")


def test_an_exhausted_link_held_in_retention_becomes_active_with_views_kept(
    admin_client: TestClient,
    redirector_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
) -> None:
    code = create_link(admin_client, maxViews=1)["shortCode"]
    assert redirector_client.get(f"/{code}").status_code == 302
    assert redirector_client.get(f"/{code}").status_code == 410
    key = Keys(key_prefix).link(code)
    assert 0 < redis_sync.pttl(key) <= RETENTION_MS

    body = _patch(admin_client, code, {"maxViews": 2}).json()

    assert (body["status"], body["views"], body["remainingViews"]) == ("active", 1, 1)
    assert redis_sync.pttl(key) == -1
    assert redirector_client.get(f"/{code}").status_code == 302
    assert redirector_client.get(f"/{code}").status_code == 410


def test_max_views_at_or_below_the_views_makes_the_link_exhausted(
    admin_client: TestClient,
    redirector_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
) -> None:
    code = create_link(admin_client, maxViews=5)["shortCode"]
    redirector_client.get(f"/{code}")
    redirector_client.get(f"/{code}")

    body = _patch(admin_client, code, {"maxViews": 2}).json()

    assert (body["status"], body["views"], body["remainingViews"]) == ("exhausted", 2, 0)
    assert 0 < redis_sync.pttl(Keys(key_prefix).link(code)) <= RETENTION_MS
    assert redirector_client.get(f"/{code}").status_code == 410


def test_an_expired_link_held_in_retention_becomes_active_with_a_later_expiry(
    admin_client: TestClient,
    redirector_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
) -> None:
    code = create_link(admin_client)["shortCode"]
    key = Keys(key_prefix).link(code)
    past = int(time.time() * 1000) - 1000
    redis_sync.hset(key, "e", past)
    redis_sync.pexpireat(key, past + RETENTION_MS)
    assert redirector_client.get(f"/{code}").status_code == 410

    body = _patch(admin_client, code, {"expiresAt": "2999-01-01T00:00:00Z"}).json()

    assert body["status"] == "active"
    assert redirector_client.get(f"/{code}").status_code == 302


def test_patch_rejections_list_every_failing_field(admin_client: TestClient) -> None:
    code = create_link(admin_client)["shortCode"]

    response = _patch(
        admin_client,
        code,
        {
            "targetUrl": "ftp://x",
            "expiresAt": "2000-01-01T00:00:00Z",
            "maxViews": 0,
            "password": "",
            "tags": ["UPPER"],
            "clickToOpen": "yes",
        },
    )

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "error": "Bad Request",
        "message": "Validation failed",
        "errors": [
            "targetUrl: must be a valid URL",
            "expiresAt: must be a future date",
            "maxViews: must be greater than 0",
            "password: must be 1 to 1024 characters",
            "tags: must be at most 10 tags of [a-z0-9_-]{1,32}",
            "clickToOpen: must be a boolean",
        ],
    }


def test_target_url_cannot_be_cleared(admin_client: TestClient) -> None:
    code = create_link(admin_client)["shortCode"]

    response = _patch(admin_client, code, {"targetUrl": None})

    assert response.status_code == 400
    assert response.json()["errors"] == ["targetUrl: must not be blank"]


def test_a_body_naming_no_field_is_nothing_to_change(admin_client: TestClient) -> None:
    code = create_link(admin_client)["shortCode"]

    response = _patch(admin_client, code, {"customCode": "abcd", "other": 1})

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "error": "Bad Request",
        "message": "Nothing to change",
    }


def test_a_revoked_link_cannot_be_changed(admin_client: TestClient) -> None:
    code = create_link(admin_client)["shortCode"]
    admin_client.post(f"/api/v1/links/{code}/revoke")

    response = _patch(admin_client, code, {"maxViews": 3})

    assert response.status_code == 409
    assert response.json() == {
        "status": 409,
        "error": "Conflict",
        "message": "A revoked link cannot be changed",
    }


def test_patch_of_an_unknown_code_is_404(admin_client: TestClient) -> None:
    response = _patch(admin_client, "nosuchcode", {"maxViews": 3})

    assert response.status_code == 404
    assert response.json()["message"] == "Link not found"


def test_malformed_patch_body_is_400(admin_client: TestClient) -> None:
    code = create_link(admin_client)["shortCode"]

    response = admin_client.patch(f"/api/v1/links/{code}", content=b"[1]")

    assert response.status_code == 400
    assert response.json()["message"] == "Malformed JSON body"
