"""Idempotency-Key on the create routes: replayed, 422 for another body, 409 while running."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import redis
from starlette.testclient import TestClient

from admin_api.app import create_app
from shared.settings import Settings

ADMIN_KEY = "test-admin-key-0123456789abcdef"
BODY = {"targetUrl": "https://example.com/a", "maxViews": 2}


def _post(client: TestClient, key: str, body: Any, path: str = "/api/v1/links") -> Any:
    return client.post(path, json=body, headers={"Idempotency-Key": key})


def test_the_same_key_and_body_replays_the_first_answer(admin_client: TestClient) -> None:
    first = _post(admin_client, "k-1", BODY)

    again = _post(admin_client, "k-1", {"maxViews": 2, "targetUrl": "https://example.com/a"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(admin_client.get("/api/v1/links").json()["items"]) == 1


def test_the_same_key_with_another_body_is_422(admin_client: TestClient) -> None:
    _post(admin_client, "k-2", BODY)

    response = _post(admin_client, "k-2", {**BODY, "maxViews": 3})

    assert response.status_code == 422
    assert response.json() == {
        "status": 422,
        "error": "Unprocessable Entity",
        "message": "Idempotency-Key was used with a different request",
    }


def test_the_same_key_on_another_route_is_422(admin_client: TestClient) -> None:
    _post(admin_client, "k-3", BODY)

    response = _post(admin_client, "k-3", {"links": [BODY]}, "/api/v1/links/batch")

    assert response.status_code == 422


def test_a_rejected_request_is_replayed_too(admin_client: TestClient) -> None:
    first = _post(admin_client, "k-4", {"targetUrl": ""})

    again = _post(admin_client, "k-4", {"targetUrl": ""})

    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


def test_a_key_still_claimed_is_409(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    _post(admin_client, "k-5", BODY)
    # As the first request's claim looks while it still runs: a fingerprint, no answer.
    for key in redis_sync.scan_iter(f"{key_prefix}:idem:*"):
        redis_sync.hdel(key, "s", "b", "l")

    response = _post(admin_client, "k-5", BODY)

    assert response.status_code == 409
    assert response.json()["message"] == "A request with this Idempotency-Key is in progress"


def test_keys_are_scoped_per_api_key_and_kept_a_day(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    created = admin_client.post("/api/v1/keys", json={"name": "svc"}).json()
    first = _post(admin_client, "shared", BODY)

    other = admin_client.post(
        "/api/v1/links",
        json=BODY,
        headers={"Idempotency-Key": "shared", "Authorization": f"Bearer {created['key']}"},
    )

    assert other.status_code == 201
    assert other.json()["shortCode"] != first.json()["shortCode"]
    ttls = [redis_sync.ttl(key) for key in redis_sync.scan_iter(f"{key_prefix}:idem:*")]
    assert len(ttls) == 2
    assert all(86_300 < ttl <= 86_400 for ttl in ttls)


@pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"tab\there"])
def test_a_bad_idempotency_key_is_400(admin_client: TestClient, key: bytes) -> None:
    response = admin_client.post("/api/v1/links", json=BODY, headers={b"Idempotency-Key": key})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        "Idempotency-Key: must be 1 to 255 printable ASCII characters"
    ]


def test_batch_is_replayed_without_creating_twice(admin_client: TestClient) -> None:
    body = {"links": [BODY, BODY]}
    first = _post(admin_client, "b-1", body, "/api/v1/links/batch")

    again = _post(admin_client, "b-1", body, "/api/v1/links/batch")

    assert again.json() == first.json()
    assert len(admin_client.get("/api/v1/links").json()["items"]) == 2


def test_twenty_concurrent_requests_with_one_key_create_exactly_one_link(
    app_settings: Settings,
) -> None:
    app = create_app(app_settings)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}", "Idempotency-Key": "race"}

    async def race() -> list[tuple[int, str | None]]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                replies = await asyncio.gather(
                    *[client.post("/api/v1/links", json=BODY, headers=headers) for _ in range(20)]
                )
                listed = await client.get("/api/v1/links", headers=headers)
                assert len(listed.json()["items"]) == 1
                return [
                    (reply.status_code, reply.headers.get("idempotent-replayed"))
                    for reply in replies
                ]

    answers = asyncio.run(race())

    assert answers.count((201, None)) == 1
    assert all(answer in ((201, None), (201, "true"), (409, None)) for answer in answers)
