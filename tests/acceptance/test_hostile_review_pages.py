"""The hostile review's findings about what the services show (issue 13, items 6 to 8): each
reproduction run against real processes, with the answer it must now get."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stacks import Stack
from tests.support.uploads import CONTENT_TYPE, FilePart, multipart


def upload(stack: Stack, part: FilePart) -> dict[str, Any]:
    response = stack.admin(
        "POST", "/api/v1/files", content=multipart(part), headers={"Content-Type": CONTENT_TYPE}
    )
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


# 6. HEAD of a view-limited link shows the neutral page, never the target.


def test_head_of_a_view_limited_link_never_shows_its_target(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/secret", maxViews=2)["shortCode"]

    heads = [stack.visit("HEAD", f"/{code}") for _ in range(5)]
    first = stack.visit("GET", f"/{code}")

    assert [head.status_code for head in heads] == [200] * 5
    assert all("location" not in head.headers for head in heads)
    assert heads[0].headers["content-type"].startswith("text/html")
    assert heads[0].headers["cache-control"] == "no-store"
    assert first.status_code == 302
    assert first.headers["location"] == "https://example.com/secret"
    assert stack.admin("GET", f"/api/v1/links/{code}").json()["views"] == 1


def test_head_of_an_unlimited_link_still_answers_its_redirect(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/open")["shortCode"]

    head = stack.visit("HEAD", f"/{code}")

    assert head.status_code == 302
    assert head.headers["location"] == "https://example.com/open"
    assert stack.admin("GET", f"/api/v1/links/{code}").json()["views"] == 0


# 7. Active content in downloads runs nothing.


@pytest.mark.parametrize(
    "content_type", ["image/svg+xml", "text/javascript", "application/xml", "text/html"]
)
def test_every_download_is_sandboxed(stack: Stack, content_type: str) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    link = upload(stack, FilePart(svg, "x.svg", content_type))

    download = stack.visit("GET", f"/{link['shortCode']}")

    assert download.status_code == 200
    assert download.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert download.headers["content-type"] == content_type
    assert download.headers["x-content-type-options"] == "nosniff"


# 8. No redirect of the admin API is built from the Host header.


@pytest.mark.parametrize("path", ["/api/v1", "/api/v1/links/", "/openapi.json/", "/-/healthz/"])
def test_admin_trailing_slash_paths_answer_404_not_a_redirect_to_the_host(
    stack: Stack, path: str
) -> None:
    response = stack.admin("GET", path, headers={"Host": "evil.example"}, follow_redirects=False)

    assert response.status_code == 404
    assert "location" not in response.headers
