"""GET and HEAD /{code}: 302, 404 and 410 as the contract's table says; HEAD counts nothing."""

from __future__ import annotations

import pytest
import redis
from starlette.testclient import TestClient

from shared.keys import Keys
from tests.support.links import create_code

TARGET_A = "https://example.com/a"

JSON = {"Accept": "application/json"}
GONE = {
    "expired": "This link has expired.",
    "exhausted": "This link has reached its view limit.",
    "revoked": "This link has been revoked.",
}


def _views(admin: TestClient, code: str) -> int:
    views: int = admin.get(f"/api/v1/links/{code}").json()["views"]
    return views


def _make(state: str, admin: TestClient, redis_sync: redis.Redis, prefix: str) -> str:
    """A link in the given state; time passing is simulated by writing its expiry."""
    if state == "expired":
        code = create_code(admin, targetUrl=TARGET_A, expiresAt="2099-01-01T00:00:00Z")
        redis_sync.hset(Keys(prefix).link(code), "e", 1_000)
    elif state == "exhausted":
        code = create_code(admin, targetUrl=TARGET_A, maxViews=1)
        redis_sync.hset(Keys(prefix).link(code), "v", 1)
    else:
        code = create_code(admin, targetUrl=TARGET_A)
        admin.post(f"/api/v1/links/{code}/revoke")
    return code


def test_active_link_redirects_with_302_and_no_caching(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)

    response = redirector_client.get(f"/{code}")

    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/a"
    assert response.headers["cache-control"] == "private, no-store"


def test_redirect_counts_one_view_and_records_when(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A, maxViews=5)

    redirector_client.get(f"/{code}")

    link = admin_client.get(f"/api/v1/links/{code}").json()
    assert (link["views"], link["remainingViews"]) == (1, 4)
    assert link["lastViewedAt"] is not None


def test_target_with_query_and_fragment_is_redirected_to_unchanged(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    target = "https://example.com/p/a%20b?x=1&y=%C3%A9#top"
    code = create_code(admin_client, targetUrl=target)

    response = redirector_client.get(f"/{code}")

    assert response.headers["location"] == target


def test_link_with_max_views_redirects_exactly_that_often(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A, maxViews=3)

    statuses = [redirector_client.get(f"/{code}").status_code for _ in range(5)]

    assert statuses == [302, 302, 302, 410, 410]
    assert _views(admin_client, code) == 3


@pytest.mark.parametrize("state", ["expired", "exhausted", "revoked"])
def test_dead_link_answers_410(
    admin_client: TestClient,
    redirector_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
    state: str,
) -> None:
    code = _make(state, admin_client, redis_sync, key_prefix)

    response = redirector_client.get(f"/{code}", headers=JSON)

    assert response.status_code == 410
    assert response.json() == {"status": 410, "error": "Gone", "message": GONE[state]}
    assert "location" not in response.headers


@pytest.mark.parametrize("state", ["expired", "exhausted", "revoked"])
def test_dead_link_page_says_why(
    admin_client: TestClient,
    redirector_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
    state: str,
) -> None:
    code = _make(state, admin_client, redis_sync, key_prefix)

    response = redirector_client.get(f"/{code}")

    assert response.status_code == 410
    assert response.headers["content-type"].startswith("text/html")
    assert GONE[state] in response.text
    assert "no-store" in response.headers["cache-control"]


@pytest.mark.parametrize("state", ["expired", "exhausted", "revoked"])
def test_dead_link_counts_no_view(
    admin_client: TestClient,
    redirector_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
    state: str,
) -> None:
    code = _make(state, admin_client, redis_sync, key_prefix)
    before = _views(admin_client, code)

    redirector_client.get(f"/{code}")

    assert _views(admin_client, code) == before


def test_unknown_code_answers_404(redirector_client: TestClient) -> None:
    response = redirector_client.get("/Unknown123", headers=JSON)

    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "error": "Not Found",
        "message": "No link has this code.",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/abc",
        "/" + "x" * 65,
        "/a.bcd",
        "/ab%20cd",
        "/ab%2Fcd",
        "/%7Babcd%7D",
        "/a/b",
        "/abcd/extra",
        "/",
        "/favicon.ico",
    ],
)
def test_invalid_codes_and_other_paths_answer_404(redirector_client: TestClient, path: str) -> None:
    response = redirector_client.get(path, headers=JSON)

    assert response.status_code == 404
    assert response.json()["message"] == "No link has this code."


def test_link_code_followed_by_a_slash_answers_404_without_counting(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A, customCode="slashy")

    response = redirector_client.get(f"/{code}/")

    assert response.status_code == 404
    assert _views(admin_client, code) == 0


def test_codes_are_case_sensitive(admin_client: TestClient, redirector_client: TestClient) -> None:
    create_code(admin_client, targetUrl=TARGET_A, customCode="CaseCode")

    response = redirector_client.get("/casecode")

    assert response.status_code == 404


def test_head_answers_as_get_would_and_counts_nothing(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)

    heads = [redirector_client.head(f"/{code}") for _ in range(3)]
    get = redirector_client.get(f"/{code}")

    assert [head.status_code for head in heads] == [302, 302, 302]
    assert heads[0].headers["location"] == "https://example.com/a"
    assert heads[0].headers["cache-control"] == "private, no-store"
    assert get.status_code == 302
    assert _views(admin_client, code) == 1


def test_head_of_a_view_limited_link_answers_the_neutral_page_without_its_target(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A, maxViews=1)

    heads = [redirector_client.head(f"/{code}") for _ in range(3)]
    get = redirector_client.get(f"/{code}")

    assert [head.status_code for head in heads] == [200, 200, 200]
    assert "location" not in heads[0].headers
    assert heads[0].headers["content-type"].startswith("text/html")
    assert heads[0].headers["x-robots-tag"] == "noindex, nofollow"
    assert heads[0].content == b""
    assert get.status_code == 302
    assert get.headers["location"] == "https://example.com/a"
    assert _views(admin_client, code) == 1


@pytest.mark.parametrize("state", ["expired", "exhausted", "revoked"])
def test_head_of_a_dead_link_answers_410(
    admin_client: TestClient,
    redirector_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
    state: str,
) -> None:
    code = _make(state, admin_client, redis_sync, key_prefix)

    assert redirector_client.head(f"/{code}").status_code == 410


def test_head_of_an_unknown_code_answers_404(redirector_client: TestClient) -> None:
    assert redirector_client.head("/Unknown123").status_code == 404


@pytest.mark.parametrize("accept", ["text/html", "application/json", "*/*"])
def test_password_link_never_redirects_a_get_and_counts_nothing(
    admin_client: TestClient, redirector_client: TestClient, accept: str
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A, password="s3cret", maxViews=5)

    responses = [
        redirector_client.get(f"/{code}", headers={"Accept": accept}),
        redirector_client.head(f"/{code}", headers={"Accept": accept}),
    ]

    assert [r.status_code for r in responses] != [302, 302]
    assert all("location" not in r.headers for r in responses)
    assert _views(admin_client, code) == 0


def test_password_link_answers_a_form_to_browsers(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A, password="s3cret")

    response = redirector_client.get(f"/{code}", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<form method="post"' in response.text
    assert 'type="password"' in response.text
    assert "https://example.com/a" not in response.text


def test_password_link_answers_401_to_json_clients(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A, password="s3cret")

    response = redirector_client.get(f"/{code}", headers=JSON)

    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "error": "Unauthorized",
        "message": "Password required",
    }


def test_redirects_are_counted_in_metrics(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A)
    redirector_client.get(f"/{code}")
    redirector_client.get("/Unknown123")

    text = redirector_client.get("/-/metrics").text

    assert 'securelink_resolutions_total{outcome="ok",service="redirector"} 1.0\n' in text
    assert 'securelink_resolutions_total{outcome="not_found",service="redirector"} 1.0\n' in text


def test_every_key_of_a_followed_link_carries_its_code(
    admin_client: TestClient,
    redirector_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
) -> None:
    code = create_code(admin_client, targetUrl=TARGET_A, maxViews=1, password="pw")
    redirector_client.get(f"/{code}")
    redirector_client.post(f"/{code}", data={"password": "wrong"})
    admin_client.post(f"/api/v1/links/{code}/revoke")

    stored = [key.decode() for key in redis_sync.scan_iter(match=f"{key_prefix}:*")]

    assert f"{key_prefix}:link:{{{code}}}" in stored
    assert all(f"{{{code}}}" in key for key in stored if key != f"{key_prefix}:index")
