"""Named API keys over HTTP: shown once, kept as a digest, read-only, disabled at once."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
import redis

from tests.support.raw import raw_hash
from tests.support.stacks import Stack

UNAUTHORIZED = {"status": 401, "error": "Unauthorized", "message": "Missing or invalid API key"}
READ_ONLY = {"status": 403, "error": "Forbidden", "message": "This API key is read-only"}
BOOTSTRAP_ONLY = {
    "status": 403,
    "error": "Forbidden",
    "message": "Only the bootstrap key may manage API keys",
}
TARGET = {"targetUrl": "https://example.com/a"}

# Every /api/v1 route, with a body good enough to pass validation.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/v1/links", TARGET),
    ("GET", "/api/v1/links", None),
    ("POST", "/api/v1/links/batch", {"links": [TARGET]}),
    ("GET", "/api/v1/links/abcd1234", None),
    ("POST", "/api/v1/links/abcd1234/revoke", None),
    ("POST", "/api/v1/keys", {"name": "ci"}),
    ("GET", "/api/v1/keys", None),
    ("DELETE", "/api/v1/keys/0123456789abcdef", None),
    ("GET", "/api/v1/no-such-route", None),
]


def make_key(stack: Stack, name: str = "ci", read_only: bool = False) -> dict[str, Any]:
    response = stack.admin("POST", "/api/v1/keys", json={"name": name, "readOnly": read_only})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def call(stack: Stack, method: str, path: str, key: str | None, body: Any = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    with httpx.Client(base_url=stack.admin_url, timeout=30) as client:
        return client.request(method, path, headers=headers, json=body)


def test_created_key_is_shown_once_and_works(stack: Stack) -> None:
    created = make_key(stack, "deploy bot")

    used = call(stack, "GET", "/api/v1/links", created["key"])
    listed = stack.admin("GET", "/api/v1/keys").json()["items"]

    assert created["key"].startswith("sl_") and len(created["key"]) >= 43
    assert created["name"] == "deploy bot"
    assert created["readOnly"] is False
    assert created["lastUsedAt"] is None
    assert used.status_code == 200
    mine = next(item for item in listed if item["id"] == created["id"])
    assert "key" not in mine
    assert mine["createdAt"] == created["createdAt"]
    assert mine["lastUsedAt"] is not None


def test_create_answers_location_of_the_key(stack: Stack) -> None:
    response = stack.admin("POST", "/api/v1/keys", json={"name": "located"})

    assert response.status_code == 201
    assert response.headers["location"] == f"/api/v1/keys/{response.json()['id']}"


def test_redis_holds_only_the_digest_of_a_key(stack: Stack, redis_url: str) -> None:
    created = make_key(stack)
    client = redis.Redis.from_url(redis_url)

    stored = b"".join(
        key + b"".join(k + v for k, v in raw_hash(client, key).items())
        for key in client.scan_iter(match=f"{stack.prefix}:{{apikeys}}:*")
    )
    client.close()

    assert created["key"].encode() not in stored
    assert hashlib.sha256(created["key"].encode()).hexdigest().encode() in stored


def test_disabled_key_is_refused_at_once(stack: Stack) -> None:
    created = make_key(stack)
    assert call(stack, "GET", "/api/v1/links", created["key"]).status_code == 200

    deleted = stack.admin("DELETE", f"/api/v1/keys/{created['id']}")
    after = call(stack, "GET", "/api/v1/links", created["key"])
    listed = stack.admin("GET", "/api/v1/keys").json()["items"]

    assert deleted.status_code == 204
    assert after.status_code == 401
    assert after.json() == UNAUTHORIZED
    assert next(i for i in listed if i["id"] == created["id"])["disabledAt"] is not None


def test_deleting_a_key_twice_answers_204_both_times(stack: Stack) -> None:
    created = make_key(stack)

    first = stack.admin("DELETE", f"/api/v1/keys/{created['id']}")
    second = stack.admin("DELETE", f"/api/v1/keys/{created['id']}")

    assert (first.status_code, second.status_code) == (204, 204)


@pytest.mark.parametrize(
    ("key_id", "message"),
    [
        ("0123456789abcdef", "API key not found"),
        ("nothex", "API key not found"),
        ("..%2f..%2fetc", "Not Found"),  # an encoded slash: no route matches
    ],
)
def test_deleting_an_unknown_key_answers_404(stack: Stack, key_id: str, message: str) -> None:
    response = stack.admin("DELETE", f"/api/v1/keys/{key_id}")

    assert response.status_code == 404
    assert response.json() == {"status": 404, "error": "Not Found", "message": message}


def test_read_only_key_may_read(stack: Stack) -> None:
    link = stack.create_link(**TARGET)
    key = make_key(stack, read_only=True)["key"]

    listed = call(stack, "GET", "/api/v1/links", key)
    one = call(stack, "GET", f"/api/v1/links/{link['shortCode']}", key)

    assert (listed.status_code, one.status_code) == (200, 200)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/links", TARGET),
        ("POST", "/api/v1/links/batch", {"links": [TARGET]}),
        ("POST", "/api/v1/links/abcd1234/revoke", None),
    ],
)
def test_read_only_key_may_not_change_anything(
    stack: Stack, method: str, path: str, body: Any
) -> None:
    key = make_key(stack, read_only=True)["key"]

    response = call(stack, method, path, key, body)

    assert response.status_code == 403
    assert response.json() == READ_ONLY


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/keys", {"name": "successor"}),
        ("GET", "/api/v1/keys", None),
        ("DELETE", "/api/v1/keys/0123456789abcdef", None),
    ],
)
def test_only_the_bootstrap_key_manages_keys(
    stack: Stack, read_only: bool, method: str, path: str, body: Any
) -> None:
    key = make_key(stack, read_only=read_only)["key"]

    response = call(stack, method, path, key, body)

    assert response.status_code == 403
    assert response.json() == (READ_ONLY if read_only and method != "GET" else BOOTSTRAP_ONLY)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer wrong-key", "Bearer sl_unknown", "Token x"],
)
@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_api_route_answers_401_without_a_valid_key(
    stack: Stack, authorization: str | None, method: str, path: str, body: Any
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(base_url=stack.admin_url, timeout=30) as client:
        response = client.request(method, path, headers=headers, json=body)

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"] == "Bearer"


def test_scheme_name_is_case_insensitive(stack: Stack) -> None:
    with httpx.Client(base_url=stack.admin_url, timeout=30) as client:
        response = client.get(
            "/api/v1/links", headers={"Authorization": f"bearer {stack.admin_key}"}
        )

    assert response.status_code == 200


NO_FORMAT = "name: must not contain format characters (bidi controls, zero-width)"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, ["name: must not be blank"]),
        ({"name": None}, ["name: must not be blank"]),
        ({"name": "   "}, ["name: must not be blank"]),
        ({"name": "x" * 101}, ["name: must be 1 to 100 characters"]),
        ({"name": 7}, ["name: must be 1 to 100 characters"]),
        ({"name": "a\nb"}, ["name: must not contain control characters"]),
        ({"name": "a\u202eb"}, [NO_FORMAT]),
        ({"name": "a\u200bb"}, [NO_FORMAT]),
        ({"name": "\u2066x\u2069"}, [NO_FORMAT]),
        ({"name": "a\u2028b"}, [NO_FORMAT]),
        ({"name": "ok", "readOnly": "yes"}, ["readOnly: must be a boolean"]),
        ({"readOnly": 1}, ["name: must not be blank", "readOnly: must be a boolean"]),
    ],
)
def test_invalid_key_request_lists_every_failing_field(
    stack: Stack, body: dict[str, Any], errors: list[str]
) -> None:
    response = stack.admin("POST", "/api/v1/keys", json=body)

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "error": "Bad Request",
        "message": "Validation failed",
        "errors": errors,
    }


def test_key_name_of_100_characters_is_accepted(stack: Stack) -> None:
    response = stack.admin("POST", "/api/v1/keys", json={"name": "é" * 100})

    assert response.status_code == 201
    assert response.json()["name"] == "é" * 100
