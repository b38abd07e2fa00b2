"""clickToOpen links count only the click; prefetches are declined on every link kind."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from redirector.pages import CONTENT_SECURITY_POLICY
from tests.support.links import create_code

JSON = {"Accept": "application/json"}
TARGET = "https://example.com/a"


def _upload(admin: TestClient, **fields: str) -> str:
    files = {"file": ("notes.txt", b"file body", "text/plain")}
    response = admin.post("/api/v1/files", files=files, data=fields)
    assert response.status_code == 201, response.text
    code: str = response.json()["shortCode"]
    return code


def _views(admin: TestClient, code: str) -> int:
    views: int = admin.get(f"/api/v1/links/{code}").json()["views"]
    return views


def test_a_get_answers_the_open_link_page_and_counts_nothing(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET, clickToOpen=True, maxViews=1)

    pages = [redirector_client.get(f"/{code}") for _ in range(3)]

    for page in pages:
        assert page.status_code == 200
        assert "Open link" in page.text
        assert '<form method="post">' in page.text
        assert TARGET not in page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert _views(admin_client, code) == 0


def test_json_clients_are_told_a_click_is_required(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET, clickToOpen=True)

    response = redirector_client.get(f"/{code}", headers=JSON)

    assert response.status_code == 401
    assert response.json() == {"status": 401, "error": "Unauthorized", "message": "Click required"}
    assert _views(admin_client, code) == 0


def test_the_click_counts_one_view_and_answers_303(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET, clickToOpen=True, maxViews=1)

    click = redirector_client.post(f"/{code}")
    again = redirector_client.post(f"/{code}")

    assert click.status_code == 303
    assert click.headers["location"] == TARGET
    assert again.status_code == 410
    assert _views(admin_client, code) == 1


def test_the_click_on_a_file_link_answers_the_file(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = _upload(admin_client, clickToOpen="true")
    assert "Open link" in redirector_client.get(f"/{code}").text

    click = redirector_client.post(f"/{code}")

    assert click.status_code == 200
    assert click.content == b"file body"
    assert _views(admin_client, code) == 1


def test_with_a_password_too_the_password_form_is_the_click(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET, clickToOpen=True, password="pw")

    form = redirector_client.get(f"/{code}")
    empty_post = redirector_client.post(f"/{code}")
    right = redirector_client.post(f"/{code}", data={"password": "pw"})

    assert form.status_code == 200 and 'type="password"' in form.text
    assert empty_post.status_code != 303
    assert right.status_code == 303
    assert _views(admin_client, code) == 1


def test_head_of_a_click_link_answers_the_page_counting_nothing(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET, clickToOpen=True)

    response = redirector_client.head(f"/{code}")

    assert response.status_code == 200
    assert "location" not in response.headers
    assert _views(admin_client, code) == 0


def test_preview_bots_get_the_neutral_page(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET, clickToOpen=True)

    response = redirector_client.get(f"/{code}", headers={"User-Agent": "Slackbot-LinkExpanding"})

    assert response.status_code == 200
    assert "Open link" not in response.text
    assert "Shared link" in response.text
    assert _views(admin_client, code) == 0


@pytest.mark.parametrize(
    "header",
    [("Sec-Purpose", "prefetch"), ("Purpose", "prefetch"), ("sec-purpose", "prefetch;prerender")],
)
@pytest.mark.parametrize("kind", ["plain", "limited", "password", "click", "file"])
def test_a_prefetch_is_declined_with_503_no_store_and_counts_nothing(
    admin_client: TestClient, redirector_client: TestClient, header: tuple[str, str], kind: str
) -> None:
    if kind == "file":
        code = _upload(admin_client)
    else:
        kinds: dict[str, dict[str, Any]] = {
            "plain": {},
            "limited": {"maxViews": 1},
            "password": {"password": "pw"},
            "click": {"clickToOpen": True},
        }
        fields = kinds[kind]
        code = create_code(admin_client, targetUrl=TARGET, **fields)

    response = redirector_client.get(f"/{code}", headers=dict([header]))

    assert response.status_code == 503
    assert response.headers["cache-control"] == "no-store"
    assert "location" not in response.headers
    assert _views(admin_client, code) == 0
    followed = redirector_client.get(f"/{code}")
    assert followed.status_code in (200, 302)


def test_a_prefetch_of_a_limited_link_leaves_its_one_view_for_the_person(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TARGET, maxViews=1)

    prefetch = redirector_client.get(f"/{code}", headers={"Sec-Purpose": "prefetch"})
    person = redirector_client.get(f"/{code}")

    assert prefetch.status_code == 503
    assert person.status_code == 302
    assert _views(admin_client, code) == 1
