"""POST /api/v1/links: 201 with the Link, generated or custom codes, passwords kept as hashes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from starlette.testclient import TestClient

from admin_api import links as links_module
from shared.keys import Keys
from tests.support.raw import raw_hash

GENERATED_CODE = re.compile(r"[A-Za-z0-9]{10,}")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_created_link_is_answered_with_201_location_and_every_field(
    admin_client: TestClient,
) -> None:
    before = datetime.now(UTC)

    response = admin_client.post("/api/v1/links", json={"targetUrl": "https://example.com/a"})

    link = response.json()
    code = link["shortCode"]
    assert response.status_code == 201
    assert response.headers["location"] == f"/api/v1/links/{code}"
    assert link == {
        "shortCode": code,
        "shortUrl": f"http://sl.test/{code}",
        "targetUrl": "https://example.com/a",
        "kind": "url",
        "expiresAt": None,
        "maxViews": None,
        "views": 0,
        "remainingViews": None,
        "passwordProtected": False,
        "status": "active",
        "createdAt": link["createdAt"],
        "lastViewedAt": None,
        "tags": [],
        "clickToOpen": False,
    }
    created = _parse(link["createdAt"])
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC) + timedelta(seconds=1)
    assert link["createdAt"].endswith("Z")


def test_created_link_carries_its_limits(admin_client: TestClient) -> None:
    response = admin_client.post(
        "/api/v1/links",
        json={
            "targetUrl": "https://example.com/a",
            "expiresAt": "2099-12-01T01:00:00+01:00",
            "maxViews": 5,
            "password": "s3cret",
            "customCode": "launch-2099",
        },
    )

    link = response.json()
    assert response.status_code == 201
    assert link["shortCode"] == "launch-2099"
    assert link["shortUrl"] == "http://sl.test/launch-2099"
    assert link["expiresAt"] == "2099-12-01T00:00:00Z"
    assert (link["maxViews"], link["views"], link["remainingViews"]) == (5, 0, 5)
    assert link["passwordProtected"] is True
    assert "password" not in link


def test_password_is_stored_only_as_an_argon2id_hash(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    response = admin_client.post(
        "/api/v1/links",
        json={"targetUrl": "https://example.com/", "password": "correct horse battery"},
    )

    stored = raw_hash(redis_sync, Keys(key_prefix).link(response.json()["shortCode"]))
    assert stored[b"p"].startswith(b"$argon2id$")
    assert not any(b"correct horse battery" in value for value in stored.values())


def test_generated_codes_are_base62_and_distinct(admin_client: TestClient) -> None:
    codes = [
        admin_client.post("/api/v1/links", json={"targetUrl": "https://example.com/"}).json()[
            "shortCode"
        ]
        for _ in range(50)
    ]

    assert all(GENERATED_CODE.fullmatch(code) for code in codes)
    assert len(set(codes)) == 50


def test_generated_code_comes_from_secrets() -> None:
    codes = {links_module.generate_code() for _ in range(1000)}

    assert len(codes) == 1000
    assert all(GENERATED_CODE.fullmatch(code) for code in codes)
    assert set("".join(codes)) == set(links_module.CODE_ALPHABET)


@pytest.fixture
def colliding_codes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """generate_code() hands out these codes in order."""
    queue: list[str] = []
    monkeypatch.setattr(links_module, "generate_code", lambda: queue.pop(0))
    yield queue


def test_generated_code_that_is_taken_is_drawn_again(
    admin_client: TestClient, colliding_codes: list[str]
) -> None:
    colliding_codes.extend(["Taken12345", "Taken12345", "Fresh12345"])
    admin_client.post("/api/v1/links", json={"targetUrl": "https://example.com/first"})

    response = admin_client.post("/api/v1/links", json={"targetUrl": "https://example.com/2"})

    assert response.status_code == 201
    assert response.json()["shortCode"] == "Fresh12345"
    assert colliding_codes == []


def test_taken_custom_code_answers_409_and_keeps_the_first_link(
    admin_client: TestClient,
) -> None:
    admin_client.post(
        "/api/v1/links", json={"targetUrl": "https://example.com/first", "customCode": "promo"}
    )

    response = admin_client.post(
        "/api/v1/links", json={"targetUrl": "https://example.com/second", "customCode": "promo"}
    )

    assert response.status_code == 409
    assert response.json() == {
        "status": 409,
        "error": "Conflict",
        "message": "customCode is already taken",
    }
    first = admin_client.get("/api/v1/links/promo").json()
    assert first["targetUrl"] == "https://example.com/first"


def test_revoked_link_holds_its_code_through_the_retention(admin_client: TestClient) -> None:
    admin_client.post(
        "/api/v1/links", json={"targetUrl": "https://example.com/", "customCode": "held"}
    )
    admin_client.post("/api/v1/links/held/revoke")

    response = admin_client.post(
        "/api/v1/links", json={"targetUrl": "https://example.com/", "customCode": "held"}
    )

    assert response.status_code == 409


def test_custom_code_is_free_again_once_the_old_keys_expired(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    admin_client.post(
        "/api/v1/links", json={"targetUrl": "https://example.com/old", "customCode": "reuse"}
    )
    redis_sync.delete(Keys(key_prefix).link("reuse"))  # as when the retention ran out

    response = admin_client.post(
        "/api/v1/links", json={"targetUrl": "https://example.com/new", "customCode": "reuse"}
    )

    assert response.status_code == 201
    assert response.json()["targetUrl"] == "https://example.com/new"
