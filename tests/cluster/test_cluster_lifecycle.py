"""Editing, deleting, tags, teardown by tag, Idempotency-Key and clickToOpen on a real cluster."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import redis

from devtools.redis_cluster import RedisClusterServers
from tests.support.stacks import Stack

LINKS = 30


def test_tagged_links_on_every_primary_are_listed_edited_and_torn_down(
    start_cluster_stack: Callable[..., Stack],
) -> None:
    stack = start_cluster_stack()
    codes = [
        stack.create_link(targetUrl=f"https://example.com/{i}", tags=["run", "x"])["shortCode"]
        for i in range(LINKS)
    ]

    listed = stack.admin("GET", "/api/v1/links", params={"tag": "run", "limit": 100}).json()
    edited = stack.admin("PATCH", f"/api/v1/links/{codes[0]}", json={"maxViews": 1, "tags": ["x"]})
    deleted = stack.admin("DELETE", f"/api/v1/links/{codes[1]}")
    revoked = stack.admin("POST", "/api/v1/links/revoke", json={"tag": "run"}).json()
    torn_down = stack.admin("DELETE", "/api/v1/links", params={"tag": "run"}).json()

    assert {item["shortCode"] for item in listed["items"]} == set(codes)
    assert (edited.status_code, edited.json()["tags"], edited.json()["maxViews"]) == (200, ["x"], 1)
    assert deleted.status_code == 204
    assert revoked == {"revoked": LINKS - 2}
    assert torn_down == {"deleted": LINKS - 2}
    assert stack.admin("GET", f"/api/v1/links/{codes[0]}").json()["status"] == "active"
    assert stack.admin("GET", f"/api/v1/links/{codes[2]}").status_code == 404
    assert stack.admin("DELETE", "/api/v1/links", params={"tag": "x"}).json() == {"deleted": 1}


def test_idempotent_creates_and_the_click_work_on_a_cluster(
    start_cluster_stack: Callable[..., Stack],
) -> None:
    stack = start_cluster_stack()
    body = {"targetUrl": "https://example.com/once", "clickToOpen": True, "maxViews": 1}

    first = stack.admin("POST", "/api/v1/links", json=body, headers={"Idempotency-Key": "c-1"})
    again = stack.admin("POST", "/api/v1/links", json=body, headers={"Idempotency-Key": "c-1"})
    code = first.json()["shortCode"]
    page = stack.visit("GET", f"/{code}")
    click = stack.visit("POST", f"/{code}")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert page.status_code == 200 and "Open link" in page.text
    assert (click.status_code, click.headers["location"]) == (303, "https://example.com/once")
    assert stack.admin("GET", f"/api/v1/links/{code}").json()["views"] == 1


def test_delete_removes_a_links_password_counters_on_a_cluster(
    start_cluster_stack: Callable[..., Stack], redis_cluster: RedisClusterServers
) -> None:
    stack = start_cluster_stack(SECURELINK_TRUSTED_PROXIES="127.0.0.1")
    code = f"pw-{secrets.token_hex(6)}"
    body = {"targetUrl": "https://example.com/", "password": "right", "customCode": code}
    stack.create_link(**body)

    def wrong(client: str) -> int:
        headers = {"X-Forwarded-For": client}
        return stack.visit("POST", f"/{code}", data={"password": "no"}, headers=headers).status_code

    before = [wrong(client) for client in ("203.0.113.1", "203.0.113.2") for _ in range(4)]
    cluster = redis.RedisCluster.from_url(redis_cluster.url)
    try:
        failures = f"{stack.prefix}:pwfail:{{{code}}}"
        counted = cluster.hlen(failures)
        deleted = stack.admin("DELETE", f"/api/v1/links/{code}")
        left = cluster.exists(failures, f"{stack.prefix}:pwrate:{{{code}}}")
    finally:
        cluster.close()
    stack.create_link(**body)
    after = [wrong("203.0.113.1") for _ in range(6)]

    assert before == [401] * 8
    assert counted == 2
    assert deleted.status_code == 204
    assert left == 0
    assert after == [401] * 5 + [429]
