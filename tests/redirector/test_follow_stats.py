"""Following links records stats: views with their referrer and device, previews, 404s and 410s."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from shared.keys import Keys
from shared.settings import Settings
from tests.support.links import create_code
from tests.support.waiting import wait_until

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0 Safari/537.36"
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


def _stats(admin: TestClient, code: str) -> dict[str, Any]:
    response = admin.get(f"/api/v1/links/{code}/stats?days=2")  # 2: a test run over midnight
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    body["dayViews"] = sum(day["views"] for day in body["days"])
    body["dayPreviews"] = sum(day["previews"] for day in body["days"])
    return body


def _totals(admin: TestClient) -> dict[str, int]:
    days = admin.get("/api/v1/stats?days=2").json()["days"]
    return {
        name: sum(day[name] for day in days) for name in ("views", "previews", "notFound", "gone")
    }


def test_a_followed_link_records_referrer_host_and_device(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client)

    redirector_client.get(
        f"/{code}", headers={"Referer": "https://me:pw@news.example:8443/a?b", "User-Agent": IPHONE}
    )
    redirector_client.get(f"/{code}", headers={"User-Agent": WINDOWS})
    redirector_client.get(f"/{code}", headers={"User-Agent": "", "Referer": "garbage"})

    stats = _stats(admin_client, code)
    assert (stats["views"], stats["dayViews"], stats["previews"]) == (3, 3, 0)
    assert stats["referrers"] == [
        {"host": "news.example", "views": 1},
        {"host": None, "views": 1},
        {"host": "other", "views": 1},
    ]
    assert stats["devices"] == {"desktop": 1, "mobile": 1, "tablet": 0, "other": 1}
    assert stats["lastViewedAt"] is not None


def test_head_counts_nothing(admin_client: TestClient, redirector_client: TestClient) -> None:
    code = create_code(admin_client)

    redirector_client.head(f"/{code}")
    redirector_client.head(f"/{code}", headers={"User-Agent": SLACK})
    redirector_client.head("/nosuchcode")

    stats = _stats(admin_client, code)
    assert (stats["views"], stats["dayViews"], stats["previews"]) == (0, 0, 0)
    assert _totals(admin_client) == {"views": 0, "previews": 0, "notFound": 0, "gone": 0}


@pytest.mark.parametrize("fields", [{}, {"maxViews": 3}, {"password": "pw"}])
def test_a_preview_bot_counts_a_preview_never_a_view(
    admin_client: TestClient, redirector_client: TestClient, fields: dict[str, Any]
) -> None:
    code = create_code(admin_client, **fields)

    redirector_client.get(f"/{code}", headers={"User-Agent": SLACK})

    stats = _stats(admin_client, code)
    assert (stats["views"], stats["dayViews"]) == (0, 0)
    assert (stats["previews"], stats["dayPreviews"]) == (1, 1)
    assert stats["devices"] == {"desktop": 0, "mobile": 0, "tablet": 0, "other": 0}
    assert _totals(admin_client)["previews"] == 1


def test_a_password_view_is_recorded_and_the_form_is_not(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, password="pw")

    redirector_client.get(f"/{code}", headers={"User-Agent": IPHONE})
    response = redirector_client.post(
        f"/{code}", data={"password": "pw"}, headers={"User-Agent": IPHONE}
    )

    assert response.status_code == 303
    stats = _stats(admin_client, code)
    assert (stats["views"], stats["dayViews"]) == (1, 1)
    assert stats["devices"]["mobile"] == 1


def test_service_totals_count_views_404s_and_410s(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    live = create_code(admin_client)
    gone = create_code(admin_client)
    admin_client.post(f"/api/v1/links/{gone}/revoke")

    redirector_client.get(f"/{live}")
    redirector_client.get("/Nosuchcode")
    redirector_client.get(f"/{gone}")
    redirector_client.get(f"/{gone}", headers={"User-Agent": SLACK})

    assert _totals(admin_client) == {"views": 1, "previews": 0, "notFound": 1, "gone": 2}


def test_a_code_that_cannot_exist_counts_as_not_found(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    redirector_client.get("/a.b")  # answered without a script call
    redirector_client.get("/x" * 1)

    # The in-process totals are written on the loop's next tick, after the response.
    wait_until(lambda: _totals(admin_client)["notFound"] == 2)


@pytest.fixture
def quiet_redirector(app_settings: Settings) -> Iterator[TestClient]:
    from dataclasses import replace

    from redirector.app import create_app

    app = create_app(replace(app_settings, record_stats=False))
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_with_stats_off_views_still_count_and_nothing_else_is_written(
    admin_client: TestClient,
    quiet_redirector: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
) -> None:
    code = create_code(admin_client)

    assert quiet_redirector.get(f"/{code}").status_code == 302
    quiet_redirector.get("/nosuchcode")
    quiet_redirector.get("/a.b")

    assert admin_client.get(f"/api/v1/links/{code}").json()["views"] == 1
    assert redis_sync.keys(f"{key_prefix}:stats:*") == []
    assert redis_sync.keys(f"{key_prefix}:totals:*") == []


def test_a_link_never_followed_has_no_stats_keys(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_code(admin_client, maxViews=2, expiresAt="2099-01-01T00:00:00Z")

    admin_client.get(f"/api/v1/links/{code}/stats")

    _, stats, previews = Keys(key_prefix).link_family(code)
    assert redis_sync.exists(stats, previews) == 0
