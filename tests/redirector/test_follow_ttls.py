"""The last counting view gives an exhausted link the retention TTL; 410 until its keys go."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import redis
from starlette.testclient import TestClient

from admin_api.app import create_app as create_admin
from redirector.app import create_app as create_redirector
from shared.keys import Keys
from shared.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.support.links import create_code

RETENTION_SECONDS = 3600
RETENTION_MS = RETENTION_SECONDS * 1000


@pytest.fixture
def settings(app_settings: Settings) -> Settings:
    return dataclasses.replace(app_settings, retention_seconds=RETENTION_SECONDS)


@pytest.fixture
def admin(settings: Settings) -> Iterator[TestClient]:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_admin(settings), headers=headers) as client:
        yield client


@pytest.fixture
def redirector(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_redirector(settings), follow_redirects=False) as client:
        yield client


def test_views_before_the_last_set_no_ttl(
    admin: TestClient, redirector: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(admin, maxViews=2)

    redirector.get(f"/{code}")

    assert redis_sync.pttl(Keys(key_prefix).link(code)) == -1


def test_last_counting_view_sets_the_retention_ttl(
    admin: TestClient, redirector: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(admin, maxViews=2)
    redirector.get(f"/{code}")

    redirector.get(f"/{code}")

    assert RETENTION_MS - 5000 < redis_sync.pttl(Keys(key_prefix).link(code)) <= RETENTION_MS


def test_last_view_shortens_expires_at_plus_retention(
    admin: TestClient, redirector: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(admin, maxViews=1, expiresAt="2099-01-01T00:00:00Z")

    redirector.get(f"/{code}")

    assert RETENTION_MS - 5000 < redis_sync.pttl(Keys(key_prefix).link(code)) <= RETENTION_MS


def test_head_never_sets_a_ttl(
    admin: TestClient, redirector: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(admin, maxViews=1)

    redirector.head(f"/{code}")

    assert redis_sync.pttl(Keys(key_prefix).link(code)) == -1


def test_refused_views_leave_the_ttl_alone(
    admin: TestClient, redirector: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(admin, maxViews=1)
    key = Keys(key_prefix).link(code)
    redirector.get(f"/{code}")
    redis_sync.pexpire(key, 60_000)  # most of the retention has passed

    redirector.get(f"/{code}")

    assert 0 < redis_sync.pttl(key) <= 60_000


def test_exhausted_link_answers_410_with_its_stats_readable_in_the_retention(
    admin: TestClient, redirector: TestClient
) -> None:
    code = create_code(admin, maxViews=1)
    redirector.get(f"/{code}")

    followed = redirector.get(f"/{code}")
    link = admin.get(f"/api/v1/links/{code}")

    assert followed.status_code == 410
    assert link.status_code == 200
    assert (link.json()["status"], link.json()["views"]) == ("exhausted", 1)


def test_link_whose_keys_expired_answers_404_everywhere(
    admin: TestClient, redirector: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(admin, maxViews=1)
    redirector.get(f"/{code}")
    redis_sync.delete(Keys(key_prefix).link(code))  # the retention ran out

    followed = redirector.get(f"/{code}")
    link = admin.get(f"/api/v1/links/{code}")

    assert followed.status_code == 404
    assert link.status_code == 404
