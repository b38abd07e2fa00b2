"""The admin side owns key TTLs: expiresAt + retention at creation, retention on revocation."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from admin_api.app import create_app
from shared.keys import Keys
from shared.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.support.links import create_code

RETENTION_SECONDS = 3600
RETENTION_MS = RETENTION_SECONDS * 1000
EXPIRES_AT = "2099-01-01T00:00:00.250Z"
EXPIRES_MS = int(datetime.fromisoformat(EXPIRES_AT).timestamp() * 1000)


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    settings = dataclasses.replace(app_settings, retention_seconds=RETENTION_SECONDS)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(settings), headers=headers) as client:
        yield client


def test_expiring_link_keys_expire_at_expires_at_plus_retention(
    client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(client, expiresAt=EXPIRES_AT, maxViews=3)

    expire_time = redis_sync.pexpiretime(Keys(key_prefix).link(code))

    assert expire_time == EXPIRES_MS + RETENTION_MS


@pytest.mark.parametrize("fields", [{}, {"maxViews": 3}, {"password": "pw"}])
def test_link_without_expiry_has_no_ttl(
    client: TestClient, redis_sync: redis.Redis, key_prefix: str, fields: dict[str, Any]
) -> None:
    code = create_code(client, **fields)

    assert redis_sync.pttl(Keys(key_prefix).link(code)) == -1


def test_revoked_link_keys_live_for_the_retention(
    client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(client)

    client.post(f"/api/v1/links/{code}/revoke")

    assert RETENTION_MS - 5000 < redis_sync.pttl(Keys(key_prefix).link(code)) <= RETENTION_MS


def test_revocation_shortens_a_far_expiry_to_the_retention(
    client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(client, expiresAt=EXPIRES_AT)

    client.post(f"/api/v1/links/{code}/revoke")

    assert RETENTION_MS - 5000 < redis_sync.pttl(Keys(key_prefix).link(code)) <= RETENTION_MS


def test_revocation_never_lengthens_a_shorter_ttl(
    client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(client, expiresAt=EXPIRES_AT)
    key = Keys(key_prefix).link(code)
    redis_sync.pexpire(key, 60_000)  # expired long ago: little of its retention is left

    client.post(f"/api/v1/links/{code}/revoke")

    assert 0 < redis_sync.pttl(key) <= 60_000


def test_index_is_the_only_key_without_a_code(
    client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    codes = [
        create_code(client),
        create_code(client, maxViews=1, password="pw", customCode="tagged"),
    ]
    client.post(f"/api/v1/links/{codes[0]}/revoke")

    stored = {key.decode() for key in redis_sync.scan_iter(match=f"{key_prefix}:*")}

    assert stored == {f"{key_prefix}:index", *(f"{key_prefix}:link:{{{c}}}" for c in codes)}
