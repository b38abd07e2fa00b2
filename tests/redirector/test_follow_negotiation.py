"""404/410 bodies: an HTML page, or JSON when the client's Accept prefers application/json."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from redirector.negotiation import prefers_json

PREFERS_JSON = [
    "application/json",
    "application/json, text/html;q=0.9",
    "text/html;q=0.5, application/json",
    "text/html;q=0.1, application/json;q=0.2",
    "application/*",
    "application/*, text/*;q=0.5",
    "*/*;q=0.1, application/json",
    "APPLICATION/JSON",
    " application/json ; q=1.0 ",
]

PREFERS_HTML = [
    "",
    "*/*",
    "text/html",
    "text/html, application/json",
    "application/json, text/html",
    "application/json;q=0.9, text/html",
    "application/json;q=0, */*",
    "application/json;q=0",
    "text/*, application/json;q=0.5",
    "application/json;q=0.5, */*",
    "application/json;q=oops, text/html;q=0.1",
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
    "image/png",
]


@pytest.mark.parametrize("accept", PREFERS_JSON)
def test_accept_preferring_json(accept: str) -> None:
    assert prefers_json(accept) is True


@pytest.mark.parametrize("accept", PREFERS_HTML)
def test_accept_preferring_html_or_indifferent(accept: str) -> None:
    assert prefers_json(accept) is False


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/json", "application/json"),
        ("text/html;q=0.4, application/json;q=0.6", "application/json"),
        ("application/json;q=0.4, text/html;q=0.6", "text/html"),
        ("*/*", "text/html"),
    ],
)
def test_not_found_body_follows_accept(
    redirector_client: TestClient, accept: str, media_type: str
) -> None:
    response = redirector_client.get("/Unknown123", headers={"Accept": accept})

    assert response.status_code == 404
    assert response.headers["content-type"].split(";")[0] == media_type


def test_browser_gets_a_small_html_page(redirector_client: TestClient) -> None:
    response = redirector_client.get(
        "/Unknown123",
        headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    )

    assert response.text.startswith("<!doctype html>")
    assert "<title>Not Found</title>" in response.text
    assert "No link has this code." in response.text
    assert "<script" not in response.text
