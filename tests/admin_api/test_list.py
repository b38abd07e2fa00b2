"""GET /api/v1/links: newest first, limit and cursor, links whose keys expired dropped."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from shared.keys import Keys
from tests.admin_api.validation_cases import validation_body
from tests.support.links import create_code


def _create_many(client: TestClient, count: int) -> list[str]:
    return [create_code(client, targetUrl=f"https://example.com/{i}") for i in range(count)]


def _page(client: TestClient, **params: Any) -> Any:
    response = client.get("/api/v1/links", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _all_pages(client: TestClient, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page = _page(client, **params)
        pages.append([link["shortCode"] for link in page["items"]])
        cursor = page["nextCursor"]
        if cursor is None:
            return pages


def test_empty_list(admin_client: TestClient) -> None:
    assert _page(admin_client) == {"items": [], "nextCursor": None}


def test_links_are_listed_newest_first_as_link_objects(admin_client: TestClient) -> None:
    codes = _create_many(admin_client, 3)

    page = _page(admin_client)

    assert [link["shortCode"] for link in page["items"]] == codes[::-1]
    assert page["items"][0] == admin_client.get(f"/api/v1/links/{codes[2]}").json()
    assert page["nextCursor"] is None


def test_default_page_holds_50(admin_client: TestClient) -> None:
    _create_many(admin_client, 51)

    page = _page(admin_client)

    assert len(page["items"]) == 50
    assert page["nextCursor"] is not None


def test_cursor_walks_every_link_once(admin_client: TestClient) -> None:
    codes = _create_many(admin_client, 7)

    pages = _all_pages(admin_client, limit=3)

    assert pages == [codes[6:3:-1], codes[3:0:-1], codes[0:1]]


def test_last_full_page_has_no_next_cursor(admin_client: TestClient) -> None:
    _create_many(admin_client, 4)

    pages = _all_pages(admin_client, limit=2)

    assert [len(page) for page in pages] == [2, 2]


def test_links_whose_keys_expired_are_dropped_from_the_list_and_the_index(
    admin_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("admin_api.links._INDEX_GRACE_MS", 0)  # their entries count as old
    keys = Keys(key_prefix)
    codes = _create_many(admin_client, 6)
    for code in codes[1:5]:
        redis_sync.delete(keys.link(code))  # as when their retention ran out

    pages = _all_pages(admin_client, limit=1)

    assert pages == [[codes[5]], [codes[0]]]
    assert redis_sync.xlen(keys.index) == 2


def test_a_young_entry_whose_link_is_not_there_yet_stays_in_the_index(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    code = _create_many(admin_client, 1)[0]
    redis_sync.xadd(keys.index, {"c": "inprogress"})  # a create between its entry and its link

    pages = _all_pages(admin_client, limit=10)

    assert pages == [[code]]
    assert redis_sync.xlen(keys.index) == 2


def test_a_link_whose_create_reply_was_lost_is_still_listed(
    admin_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = admin_client.app.state.services.links  # type: ignore[attr-defined]
    run = links.scripts.run

    async def reply_lost(name: str, keys: Any, args: Any) -> Any:
        await run(name, keys, args)
        raise redis.exceptions.ConnectionError("connection lost before the reply")

    monkeypatch.setattr(links.scripts, "run", reply_lost)
    body = {"targetUrl": "https://example.com/", "customCode": "lostreply"}
    failed = admin_client.post("/api/v1/links", json=body)
    monkeypatch.undo()

    listed = [link["shortCode"] for link in _page(admin_client)["items"]]

    assert failed.status_code == 503
    assert listed == ["lostreply"]


def test_a_taken_custom_code_leaves_no_index_entry(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    body = {"targetUrl": "https://example.com/", "customCode": "taken01"}
    admin_client.post("/api/v1/links", json=body)

    second = admin_client.post("/api/v1/links", json=body)

    assert second.status_code == 409
    assert redis_sync.xlen(Keys(key_prefix).index) == 1


def test_code_reused_after_its_keys_expired_is_listed_once(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    # The earlier link's index entry, from before its keys expired (retention is at least 1 s).
    earlier_ms = int(redis_sync.time()[0]) * 1000 - 2000
    redis_sync.xadd(Keys(key_prefix).index, {"c": "again"}, id=f"{earlier_ms}-0")
    admin_client.post(
        "/api/v1/links", json={"targetUrl": "https://example.com/new", "customCode": "again"}
    )

    items = _page(admin_client)["items"]

    assert [(link["shortCode"], link["targetUrl"]) for link in items] == [
        ("again", "https://example.com/new")
    ]


def test_revoked_and_exhausted_links_are_still_listed(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    codes = _create_many(admin_client, 2)
    admin_client.post(f"/api/v1/links/{codes[0]}/revoke")

    items = _page(admin_client)["items"]

    assert [(link["shortCode"], link["status"]) for link in items] == [
        (codes[1], "active"),
        (codes[0], "revoked"),
    ]


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5", ""])
def test_limit_outside_1_to_1000_is_refused(admin_client: TestClient, limit: str) -> None:
    response = admin_client.get("/api/v1/links", params={"limit": limit})

    assert response.status_code == 400
    assert response.json() == validation_body(["limit: must be an integer from 1 to 1000"])


@pytest.mark.parametrize("limit", ["1", "1000"])
def test_limit_edges_are_accepted(admin_client: TestClient, limit: str) -> None:
    assert admin_client.get("/api/v1/links", params={"limit": limit}).status_code == 200


@pytest.mark.parametrize("cursor", ["abc", "123", "1-2-3", "-1-0", ""])
def test_cursor_that_no_page_gave_is_refused(admin_client: TestClient, cursor: str) -> None:
    response = admin_client.get("/api/v1/links", params={"cursor": cursor})

    assert response.status_code == 400
    assert response.json() == validation_body(["cursor: must be a nextCursor from an earlier page"])


def test_bad_limit_and_cursor_are_reported_together(admin_client: TestClient) -> None:
    response = admin_client.get("/api/v1/links", params={"limit": "0", "cursor": "x"})

    assert response.json() == validation_body(
        [
            "limit: must be an integer from 1 to 1000",
            "cursor: must be a nextCursor from an earlier page",
        ]
    )
