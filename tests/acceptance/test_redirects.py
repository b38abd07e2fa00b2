"""The redirector as a real process: 302, 404, 410, HEAD, revoke, TTLs, and the real clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis

from shared.keys import Keys
from tests.support.stacks import Stack
from tests.support.waiting import wait_until

JSON = {"Accept": "application/json"}
RETENTION_MS = 604800 * 1000


def _views(stack: Stack, code: str) -> int:
    views: int = stack.admin("GET", f"/api/v1/links/{code}").json()["views"]
    return views


def test_active_link_redirects_with_302(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/x?y=1")["shortCode"]

    response = stack.visit("GET", f"/{code}")

    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/x?y=1"
    assert response.headers["cache-control"] == "private, no-store"
    assert _views(stack, code) == 1


@pytest.mark.parametrize("path", ["/NoSuchCode1", "/abc", "/a/b", "/a.b.c.d", "/"])
def test_unknown_codes_and_other_paths_answer_404(stack: Stack, path: str) -> None:
    response = stack.visit("GET", path, headers=JSON)

    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "error": "Not Found",
        "message": "No link has this code.",
    }


def test_code_with_a_trailing_slash_answers_404_and_counts_nothing(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/")["shortCode"]

    response = stack.visit("GET", f"/{code}/", headers={"Host": "evil.example"})

    assert response.status_code == 404
    assert "location" not in response.headers
    assert _views(stack, code) == 0


def test_link_is_followed_max_views_times_then_410(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/", maxViews=2)["shortCode"]

    statuses = [stack.visit("GET", f"/{code}").status_code for _ in range(4)]

    assert statuses == [302, 302, 410, 410]
    link = stack.admin("GET", f"/api/v1/links/{code}").json()
    assert (link["views"], link["remainingViews"], link["status"]) == (2, 0, "exhausted")


def test_revoked_link_answers_410(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/")["shortCode"]
    before = stack.visit("GET", f"/{code}")

    stack.admin("POST", f"/api/v1/links/{code}/revoke")

    after = stack.visit("GET", f"/{code}", headers=JSON)
    assert before.status_code == 302
    assert after.status_code == 410
    assert after.json() == {
        "status": 410,
        "error": "Gone",
        "message": "This link has been revoked.",
    }


def test_expired_link_answers_410(stack: Stack, redis_sync: redis.Redis) -> None:
    code = stack.create_link(targetUrl="https://example.com/", expiresAt="2099-01-01T00:00:00Z")[
        "shortCode"
    ]
    redis_sync.hset(Keys(stack.prefix).link(code), "e", 1_000)  # time has passed

    response = stack.visit("GET", f"/{code}")

    assert response.status_code == 410
    assert response.headers["content-type"].startswith("text/html")
    assert "This link has expired." in response.text


def test_head_answers_like_get_and_counts_nothing(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/")["shortCode"]
    limited = stack.create_link(targetUrl="https://example.com/", maxViews=1)["shortCode"]

    heads = [stack.visit("HEAD", f"/{code}") for _ in range(3)]
    get = stack.visit("GET", f"/{code}")
    limited_heads = [stack.visit("HEAD", f"/{limited}") for _ in range(3)]
    limited_get = stack.visit("GET", f"/{limited}")
    head_after = stack.visit("HEAD", f"/{limited}")

    assert [h.status_code for h in heads] == [302, 302, 302]
    assert heads[0].headers["location"] == "https://example.com/"
    assert heads[0].content == b""
    assert get.status_code == 302
    # A view-limited link: the neutral page's headers, never its target (the contract).
    assert [h.status_code for h in limited_heads] == [200, 200, 200]
    assert "location" not in limited_heads[0].headers
    assert limited_get.status_code == 302
    assert head_after.status_code == 410
    assert _views(stack, code) == 1
    assert _views(stack, limited) == 1


def test_password_link_is_never_redirected_by_get(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/", password="pw")["shortCode"]

    html = stack.visit("GET", f"/{code}")
    json = stack.visit("GET", f"/{code}", headers=JSON)
    head = stack.visit("HEAD", f"/{code}")

    assert (html.status_code, json.status_code, head.status_code) == (200, 401, 200)
    assert json.json()["message"] == "Password required"
    assert _views(stack, code) == 0


def test_last_view_gives_the_keys_the_retention(stack: Stack, redis_sync: redis.Redis) -> None:
    code = stack.create_link(targetUrl="https://example.com/", maxViews=2)["shortCode"]
    key = Keys(stack.prefix).link(code)
    stack.visit("GET", f"/{code}")
    ttl_before_last = redis_sync.pttl(key)

    stack.visit("GET", f"/{code}")

    assert ttl_before_last == -1
    assert RETENTION_MS - 10_000 < redis_sync.pttl(key) <= RETENTION_MS


def test_real_clock_expires_links_and_their_keys_after_the_retention(
    start_stack: Callable[..., Stack], redis_sync: redis.Redis
) -> None:
    # The one test that waits on the real clock: to the expiry, then through the retention.
    # Both are 3 s, ten times what the steps before them take on a busy machine, so the link
    # is still live and the ended ones still held when they are visited.
    short = start_stack(SECURELINK_RETENTION_SECONDS=3)
    keys = Keys(short.prefix)
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    expiring = short.create_link(targetUrl="https://example.com/", expiresAt=soon)["shortCode"]
    exhausted = short.create_link(targetUrl="https://example.com/", maxViews=1)["shortCode"]
    revoked = short.create_link(targetUrl="https://example.com/")["shortCode"]
    before_expiry = short.visit("GET", f"/{expiring}")
    short.visit("GET", f"/{exhausted}")
    short.admin("POST", f"/api/v1/links/{revoked}/revoke")
    in_retention = [short.visit("GET", f"/{c}").status_code for c in (exhausted, revoked)]
    stats = [
        short.admin("GET", f"/api/v1/links/{c}").json()["status"] for c in (exhausted, revoked)
    ]
    time.sleep(max(0.0, datetime.fromisoformat(soon).timestamp() - time.time()) + 0.05)

    after_expiry = short.visit("GET", f"/{expiring}")
    expired_stats = short.admin("GET", f"/api/v1/links/{expiring}").json()["status"]
    wait_until(
        lambda: not redis_sync.exists(*[keys.link(c) for c in (expiring, exhausted, revoked)])
    )

    gone = [short.visit("GET", f"/{c}").status_code for c in (expiring, exhausted, revoked)]
    gone_stats = [
        short.admin("GET", f"/api/v1/links/{c}").status_code for c in (expiring, exhausted, revoked)
    ]
    assert before_expiry.status_code == 302
    assert in_retention == [410, 410]
    assert stats == ["exhausted", "revoked"]
    assert after_expiry.status_code == 410
    assert expired_stats == "expired"
    assert gone == [404, 404, 404]
    assert gone_stats == [404, 404, 404]
