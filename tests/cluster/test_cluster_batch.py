"""POST /api/v1/links/batch on a real 3-primary cluster: per-item answers in order, every link
redirects, the listing and the tag sets show them, and an Idempotency-Key replays the batch."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.stacks import Stack

ITEMS = 300
PASSWORD = "batch secret"
DUPLICATE = 150  # the item that repeats item 10's custom code
INVALID = 200  # the item with neither a valid URL nor a valid maxViews


def _items(run: str) -> list[dict[str, Any]]:
    """300 items: every 7th with a password, every 10th a custom code, one repeat, one invalid."""
    items: list[dict[str, Any]] = []
    for i in range(ITEMS):
        # A second tag of three: the tag sets' writes go to several slots, so several primaries.
        tags = [run, f"{run}-{i % 3}"]
        item: dict[str, Any] = {"targetUrl": f"https://example.com/{run}/{i}", "tags": tags}
        if i % 7 == 3:
            item["password"] = PASSWORD
        if i % 10 == 0:
            item["customCode"] = f"{run}-{i}"
        if i % 2:
            item["maxViews"] = 5
        items.append(item)
    items[DUPLICATE]["customCode"] = f"{run}-10"
    items[INVALID] = {"targetUrl": "not a url", "maxViews": 0}
    return items


def _expected_status(i: int) -> int:
    return {DUPLICATE: 409, INVALID: 400}.get(i, 201)


def _listed(stack: Stack, **params: str) -> list[dict[str, Any]]:
    """Every page of GET /api/v1/links."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": "100"} | ({"cursor": cursor} if cursor else {})
        page = stack.admin("GET", "/api/v1/links", params=query).json()
        items += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            return items


def test_a_batch_of_300_answers_each_item_in_order_and_every_link_works(
    start_cluster_stack: Callable[..., Stack],
) -> None:
    stack = start_cluster_stack()
    run = "b" + uuid.uuid4().hex[:8]
    items = _items(run)

    response = stack.admin("POST", "/api/v1/links/batch", json={"links": items})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (i, _expected_status(i)) for i in range(ITEMS)
    ]
    assert results[DUPLICATE] == {
        "index": DUPLICATE,
        "status": 409,
        "errors": ["customCode is already taken"],
    }
    assert results[INVALID] == {
        "index": INVALID,
        "status": 400,
        "errors": ["targetUrl: must be a valid URL", "maxViews: must be greater than 0"],
    }
    created = {i: r["link"] for i, r in enumerate(results) if r["status"] == 201}
    assert len(created) == ITEMS - 2
    for i, link in created.items():
        item = items[i]
        assert link["targetUrl"] == item["targetUrl"]
        assert link["tags"] == item["tags"]
        assert link["passwordProtected"] is ("password" in item)
        assert link["maxViews"] == item.get("maxViews")
        assert (link["views"], link["status"]) == (0, "active")
        if "customCode" in item:
            assert link["shortCode"] == item["customCode"]
    assert len({link["shortCode"] for link in created.values()}) == ITEMS - 2

    visits: Counter[int] = Counter()
    with httpx.Client(base_url=stack.redirector_url, timeout=30) as client:
        for i, link in created.items():
            code = link["shortCode"]
            if "password" in items[i]:
                asked = client.get(f"/{code}")
                answer = client.post(f"/{code}", data={"password": PASSWORD})
                visits[asked.status_code] += 1
            else:
                answer = client.get(f"/{code}")
            visits[answer.status_code] += 1
            assert answer.headers["location"] == items[i]["targetUrl"], (i, answer.status_code)
    protected = sum(1 for i in created if "password" in items[i])
    assert visits == Counter({302: ITEMS - 2 - protected, 303: protected, 200: protected})

    everything = _listed(stack)
    tagged = _listed(stack, tag=run)
    codes = {link["shortCode"] for link in created.values()}
    assert {link["shortCode"] for link in everything} == codes
    assert len(everything) == len(tagged) == ITEMS - 2  # each link listed once
    assert {link["shortCode"]: link["views"] for link in tagged} == dict.fromkeys(codes, 1)
    for part in range(3):
        in_part = {link["shortCode"] for i, link in created.items() if i % 3 == part}
        assert {link["shortCode"] for link in _listed(stack, tag=f"{run}-{part}")} == in_part


def test_an_idempotent_batch_is_replayed_on_a_cluster_and_creates_nothing_twice(
    start_cluster_stack: Callable[..., Stack],
) -> None:
    stack = start_cluster_stack()
    run = "i" + uuid.uuid4().hex[:8]
    body = {"links": _items(run)}
    key = {"Idempotency-Key": f"batch-{run}"}

    first = stack.admin("POST", "/api/v1/links/batch", json=body, headers=key)
    again = stack.admin("POST", "/api/v1/links/batch", json=body, headers=key)
    other = stack.admin(
        "POST", "/api/v1/links/batch", json={"links": body["links"][:5]}, headers=key
    )

    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    assert (again.status_code, again.headers["idempotent-replayed"]) == (200, "true")
    assert again.json() == first.json()
    assert other.status_code == 422
    assert other.json()["message"] == "Idempotency-Key was used with a different request"
    statuses = Counter(r["status"] for r in first.json()["results"])
    assert statuses == Counter({201: ITEMS - 2, 409: 1, 400: 1})
    assert len(_listed(stack, tag=run)) == ITEMS - 2
