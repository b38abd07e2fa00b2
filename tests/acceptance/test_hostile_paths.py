"""Path tricks in codes: 404 on the redirector and on the admin API, never a 500."""

from __future__ import annotations

import pytest

from tests.support.stacks import Stack

TRICKS = [
    "..%2f..%2fetc%2fpasswd",
    "..%5c..%5cwindows",
    "%2e%2e",
    "abcd%00efgh",
    "abcd%0d%0aSet-Cookie:%20x=1",
    "a" * 65,
    "a" * 10_000,
    "abc",
    "%C3%BCnic%C3%B6de",
    "%ff%fe%fd%fc",
    "abcd.efgh",
    "abcd%20efgh",
    "%F0%9F%98%80%F0%9F%98%80",
]


@pytest.mark.parametrize("code", TRICKS)
def test_redirector_answers_404_to_a_path_trick(stack: Stack, code: str) -> None:
    response = stack.visit("GET", f"/{code}", headers={"Accept": "application/json"})

    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "error": "Not Found",
        "message": "No link has this code.",
    }


@pytest.mark.parametrize("code", TRICKS)
def test_admin_get_answers_404_to_a_path_trick(stack: Stack, code: str) -> None:
    response = stack.admin("GET", f"/api/v1/links/{code}")

    assert response.status_code == 404
    assert response.json()["status"] == 404


@pytest.mark.parametrize("code", TRICKS)
def test_admin_revoke_answers_404_to_a_path_trick(stack: Stack, code: str) -> None:
    response = stack.admin("POST", f"/api/v1/links/{code}/revoke")

    assert response.status_code == 404


def test_admin_get_of_an_invalid_code_says_link_not_found(stack: Stack) -> None:
    response = stack.admin("GET", "/api/v1/links/abcd%00efgh")

    assert response.json() == {"status": 404, "error": "Not Found", "message": "Link not found"}
