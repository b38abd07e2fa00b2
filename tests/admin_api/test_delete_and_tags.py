"""DELETE /api/v1/links/{code}, tags, ?tag= listing, and ending every link of a tag."""

from __future__ import annotations

from typing import Any

import redis
from starlette.testclient import TestClient

from shared.keys import Keys
from tests.support.links import create_link

TAGS_ERROR = "tags: must be at most 10 tags of [a-z0-9_-]{1,32}"


def _codes(response: Any) -> list[str]:
    return [item["shortCode"] for item in response.json()["items"]]


def test_delete_answers_204_then_404_and_frees_the_code(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = create_link(admin_client, customCode="gone-soon")["shortCode"]
    keys = Keys(key_prefix)
    redis_sync.hset(keys.stats(code), "dd", 1)
    redis_sync.hset(keys.preview_stats(code), "t", 1)
    redis_sync.hset(keys.password_failures(code), "203.0.113.7", "3 99999999999999")
    redis_sync.hset(keys.password_pending(code), "203.0.113.7", "1 99999999999999")

    first = admin_client.delete(f"/api/v1/links/{code}")
    second = admin_client.delete(f"/api/v1/links/{code}")

    assert first.status_code == 204
    assert first.content == b""
    assert second.status_code == 404
    assert second.json()["message"] == "Link not found"
    assert redis_sync.exists(*keys.owned_keys(code)) == 0
    assert admin_client.get(f"/api/v1/links/{code}").status_code == 404
    assert create_link(admin_client, customCode="gone-soon")["views"] == 0


def test_a_deleted_link_is_never_listed_even_when_its_code_comes_back(
    admin_client: TestClient,
) -> None:
    code = create_link(admin_client, customCode="comes-back")["shortCode"]
    admin_client.delete(f"/api/v1/links/{code}")
    assert code not in _codes(admin_client.get("/api/v1/links"))

    create_link(admin_client, customCode="comes-back")

    assert _codes(admin_client.get("/api/v1/links")).count(code) == 1


def test_delete_of_an_unknown_or_invalid_code_is_404(admin_client: TestClient) -> None:
    assert admin_client.delete("/api/v1/links/nosuchcode").status_code == 404
    assert admin_client.delete("/api/v1/links/a").status_code == 404


def test_tags_are_kept_in_order_with_duplicates_dropped(admin_client: TestClient) -> None:
    link = create_link(admin_client, tags=["b", "a", "b"])

    assert link["tags"] == ["b", "a"]
    assert create_link(admin_client)["tags"] == []


def test_bad_tags_are_rejected_with_the_contract_text(admin_client: TestClient) -> None:
    for tags in (["A"], [""], ["x" * 33], "a", [1], [f"t{i}" for i in range(11)]):
        response = admin_client.post(
            "/api/v1/links", json={"targetUrl": "https://example.com/", "tags": tags}
        )

        assert response.status_code == 400, tags
        assert response.json()["errors"] == [TAGS_ERROR]


def test_eleven_tags_with_a_duplicate_are_ten(admin_client: TestClient) -> None:
    tags = [f"t{i}" for i in range(10)] + ["t0"]

    assert len(create_link(admin_client, tags=tags)["tags"]) == 10


def test_click_to_open_must_be_a_boolean(admin_client: TestClient) -> None:
    response = admin_client.post(
        "/api/v1/links", json={"targetUrl": "https://example.com/", "clickToOpen": "true"}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == ["clickToOpen: must be a boolean"]
    assert create_link(admin_client, clickToOpen=True)["clickToOpen"] is True


def test_listing_by_tag_keeps_only_its_links_newest_first_across_pages(
    admin_client: TestClient,
) -> None:
    tagged = [create_link(admin_client, tags=["run-1", "x"])["shortCode"] for _ in range(5)]
    create_link(admin_client, tags=["run-2"])
    create_link(admin_client)

    pages: list[str] = []
    cursor = None
    while True:
        params = {"tag": "run-1", "limit": "2", **({"cursor": cursor} if cursor else {})}
        response = admin_client.get("/api/v1/links", params=params)
        assert response.status_code == 200
        pages += _codes(response)
        cursor = response.json()["nextCursor"]
        if cursor is None:
            break

    assert pages == tagged[::-1]


def test_a_link_whose_tag_was_removed_leaves_the_tag_listing(admin_client: TestClient) -> None:
    code = create_link(admin_client, tags=["keep", "drop"])["shortCode"]

    admin_client.patch(f"/api/v1/links/{code}", json={"tags": ["keep", "new"]})

    assert _codes(admin_client.get("/api/v1/links", params={"tag": "drop"})) == []
    assert _codes(admin_client.get("/api/v1/links", params={"tag": "new"})) == [code]


def test_a_bad_tag_filter_is_400(admin_client: TestClient) -> None:
    response = admin_client.get("/api/v1/links", params={"tag": "NO"})

    assert response.status_code == 400
    assert response.json()["errors"] == ["tag: must match [a-z0-9_-]{1,32}"]


def test_revoke_by_tag_revokes_every_link_carrying_it_and_counts_them(
    admin_client: TestClient,
) -> None:
    codes = [create_link(admin_client, tags=["load"])["shortCode"] for _ in range(3)]
    other = create_link(admin_client, tags=["other"])["shortCode"]

    first = admin_client.post("/api/v1/links/revoke", json={"tag": "load"})
    again = admin_client.post("/api/v1/links/revoke", json={"tag": "load"})

    assert first.status_code == 200
    assert first.json() == {"revoked": 3}
    assert again.json() == {"revoked": 0}
    for code in codes:
        assert admin_client.get(f"/api/v1/links/{code}").json()["status"] == "revoked"
    assert admin_client.get(f"/api/v1/links/{other}").json()["status"] == "active"


def test_delete_by_tag_deletes_every_link_carrying_it_and_empties_the_set(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    codes = [create_link(admin_client, tags=["load", "both"])["shortCode"] for _ in range(3)]
    other = create_link(admin_client, tags=["both"])["shortCode"]

    first = admin_client.delete("/api/v1/links", params={"tag": "load"})
    again = admin_client.delete("/api/v1/links", params={"tag": "load"})

    assert first.json() == {"deleted": 3}
    assert again.json() == {"deleted": 0}
    for code in codes:
        assert admin_client.get(f"/api/v1/links/{code}").status_code == 404
    assert redis_sync.exists(keys.tag("load")) == 0
    assert redis_sync.zrange(keys.tag("both"), 0, -1) == [other.encode()]


def test_delete_by_tag_finishes_what_an_interrupted_run_left(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    codes = [create_link(admin_client, tags=["half"])["shortCode"] for _ in range(4)]
    # An earlier run deleted two links and stopped before it removed their codes from the set.
    for code in codes[:2]:
        redis_sync.delete(keys.link(code))

    response = admin_client.delete("/api/v1/links", params={"tag": "half"})

    assert response.json() == {"deleted": 2}
    assert redis_sync.exists(keys.tag("half")) == 0


def test_delete_without_a_tag_is_400(admin_client: TestClient) -> None:
    response = admin_client.delete("/api/v1/links")

    assert response.status_code == 400
    assert response.json()["errors"] == ["tag: must match [a-z0-9_-]{1,32}"]


def test_revoke_by_tag_needs_a_tag(admin_client: TestClient) -> None:
    response = admin_client.post("/api/v1/links/revoke", json={"tag": 5})

    assert response.status_code == 400
    assert response.json()["errors"] == ["tag: must match [a-z0-9_-]{1,32}"]


def test_batch_items_carry_their_tags(admin_client: TestClient) -> None:
    body = {"links": [{"targetUrl": "https://example.com/", "tags": ["seed"]}]}

    result = admin_client.post("/api/v1/links/batch", json=body).json()["results"][0]

    assert result["link"]["tags"] == ["seed"]
    assert _codes(admin_client.get("/api/v1/links", params={"tag": "seed"})) == [
        result["link"]["shortCode"]
    ]
