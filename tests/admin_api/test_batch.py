"""POST /api/v1/links/batch: 1 to 1000 items, each created or refused on its own, in order."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis.exceptions
from starlette.testclient import TestClient

from admin_api.app import create_app
from admin_api.links import Links
from devtools.redis_server import RedisServer
from shared.endpoint import RedisEndpoint
from shared.keys import Keys
from shared.settings import Settings
from tests.admin_api.validation_cases import MALFORMED_BODY, validation_body
from tests.conftest import ADMIN_KEY

URL = "https://example.com/"
BATCH_SIZE_ERROR = validation_body(["links: must be a list of 1 to 1000 links"])


def _batch(client: TestClient, items: Any) -> Any:
    return client.post("/api/v1/links/batch", json={"links": items})


def test_each_item_is_created_or_refused_on_its_own_in_request_order(
    admin_client: TestClient,
) -> None:
    response = _batch(
        admin_client,
        [
            {"targetUrl": URL + "0", "maxViews": 2},
            {"targetUrl": "", "maxViews": 0},
            {"targetUrl": URL + "2", "customCode": "batch-code"},
            {"targetUrl": URL + "3", "customCode": "batch-code"},
            "not an object",
            {"targetUrl": URL + "5", "password": "pw"},
        ],
    )

    results = response.json()["results"]
    assert response.status_code == 200
    assert [(r["index"], r["status"]) for r in results] == [
        (0, 201),
        (1, 400),
        (2, 201),
        (3, 409),
        (4, 400),
        (5, 201),
    ]
    assert results[0]["link"]["targetUrl"] == URL + "0"
    assert results[0]["link"]["maxViews"] == 2
    assert results[1]["errors"] == [
        "targetUrl: must not be blank",
        "maxViews: must be greater than 0",
    ]
    assert results[2]["link"]["shortCode"] == "batch-code"
    assert results[3]["errors"] == ["customCode is already taken"]
    assert results[4]["errors"] == ["link: must be a JSON object"]
    assert results[5]["link"]["passwordProtected"] is True


def test_created_items_can_be_read_back(admin_client: TestClient) -> None:
    results = _batch(admin_client, [{"targetUrl": URL + str(i)} for i in range(3)]).json()

    for result in results["results"]:
        link = result["link"]
        assert admin_client.get(f"/api/v1/links/{link['shortCode']}").json() == link


def test_result_items_carry_either_a_link_or_errors(admin_client: TestClient) -> None:
    results = _batch(admin_client, [{"targetUrl": URL}, {"targetUrl": "x"}]).json()["results"]

    assert set(results[0]) == {"index", "status", "link"}
    assert set(results[1]) == {"index", "status", "errors"}


def test_batch_of_1000_is_accepted(admin_client: TestClient) -> None:
    started = time.monotonic()

    response = _batch(admin_client, [{"targetUrl": f"{URL}{i}"} for i in range(1000)])

    results = response.json()["results"]
    assert response.status_code == 200
    assert [r["index"] for r in results] == list(range(1000))
    assert {r["status"] for r in results} == {201}
    assert len({r["link"]["shortCode"] for r in results}) == 1000
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    "links",
    [
        pytest.param([], id="empty"),
        pytest.param([{"targetUrl": URL}] * 1001, id="1001-items"),
        pytest.param({"targetUrl": URL}, id="object"),
        pytest.param("links", id="string"),
        pytest.param(None, id="null"),
    ],
)
def test_batch_that_is_not_a_list_of_1_to_1000_is_refused(
    admin_client: TestClient, links: Any
) -> None:
    response = _batch(admin_client, links)

    assert response.status_code == 400
    assert response.json() == BATCH_SIZE_ERROR


def test_batch_without_links_member_is_refused(admin_client: TestClient) -> None:
    response = admin_client.post("/api/v1/links/batch", json={"items": [{"targetUrl": URL}]})

    assert response.json() == BATCH_SIZE_ERROR


def test_batch_body_that_is_not_json_is_malformed(admin_client: TestClient) -> None:
    response = admin_client.post("/api/v1/links/batch", content=b"[")

    assert response.status_code == 400
    assert response.json() == MALFORMED_BODY


def test_an_item_refused_by_a_failing_store_answers_503_and_the_others_stay_created(
    admin_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipelined = Links._pipelined
    calls = 0

    async def second_item_script_fails(self: Links, commands: Any) -> list[Any]:
        nonlocal calls
        calls += 1
        replies = await pipelined(self, commands)
        if calls == 2:  # the create scripts' round trip: the second script met a full server
            replies[1] = redis.exceptions.OutOfMemoryError("OOM command not allowed")
        return replies

    monkeypatch.setattr(Links, "_pipelined", second_item_script_fails)
    items = [{"targetUrl": URL + str(i)} for i in range(3)] + [{"targetUrl": "nope"}]

    response = _batch(admin_client, items)

    results = response.json()["results"]
    assert response.status_code == 200
    assert [(r["index"], r["status"]) for r in results] == [(0, 201), (1, 503), (2, 201), (3, 400)]
    assert results[1]["errors"] == ["Storage is unavailable, retry shortly"]
    assert results[0]["link"]["targetUrl"] == URL + "0"
    assert results[2]["link"]["targetUrl"] == URL + "2"
    assert calls == 2  # one round trip for the index entries, one for the scripts


def test_items_of_a_failed_round_trip_answer_503_without_waiting_for_redis_again(
    admin_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipelined = Links._pipelined
    calls = 0

    async def scripts_round_trip_fails(self: Links, commands: Any) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise redis.exceptions.ConnectionError("Connection refused")
        return await pipelined(self, commands)

    monkeypatch.setattr(Links, "_pipelined", scripts_round_trip_fails)
    items = [{"targetUrl": URL + str(i)} for i in range(3)] + [{"targetUrl": "nope"}]

    response = _batch(admin_client, items)

    results = response.json()["results"]
    assert response.status_code == 200
    assert [(r["index"], r["status"]) for r in results] == [(0, 503), (1, 503), (2, 503), (3, 400)]
    assert results[0]["errors"] == results[2]["errors"] == ["Storage is unavailable, retry shortly"]
    assert calls == 2  # after the outage, no item waits for Redis again


def test_a_custom_code_twice_in_one_batch_is_created_once_then_409(
    admin_client: TestClient,
) -> None:
    items = [{"targetUrl": URL + "a", "customCode": "dup-code-x"}] * 2

    results = _batch(admin_client, items).json()["results"]

    assert [(r["index"], r["status"]) for r in results] == [(0, 201), (1, 409)]
    assert results[1]["errors"] == ["customCode is already taken"]
    assert admin_client.get("/api/v1/links/dup-code-x").json()["targetUrl"] == URL + "a"


def test_items_keep_their_own_outcome_across_script_chunks(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    # 250 items: three chunk scripts of 100 on a single server. A taken code in the second,
    # tags on items of the first and the third.
    _batch(admin_client, [{"targetUrl": URL, "customCode": "taken-code"}])
    items: list[dict[str, Any]] = [{"targetUrl": f"{URL}{i}"} for i in range(250)]
    items[150]["customCode"] = "taken-code"
    items[151]["customCode"] = "free-code"
    for i in (5, 249):
        items[i]["tags"] = ["chunky", f"only-{i}"]

    results = _batch(admin_client, items).json()["results"]

    assert [r["status"] for r in results] == [201] * 150 + [409] + [201] * 99
    assert results[150]["errors"] == ["customCode is already taken"]
    assert results[151]["link"]["shortCode"] == "free-code"
    links = [r.get("link") for r in results]
    assert [link["targetUrl"] for link in links if link] == [
        f"{URL}{i}" for i in range(250) if i != 150
    ]
    assert links[5]["tags"] == ["chunky", "only-5"]
    assert links[249]["tags"] == ["chunky", "only-249"]
    listed = admin_client.get("/api/v1/links", params={"tag": "chunky"}).json()["items"]
    # Both may carry the same creation millisecond: their order is then the codes'.
    assert sorted(link["shortCode"] for link in listed) == sorted(
        [links[5]["shortCode"], links[249]["shortCode"]]
    )
    assert redis_sync.xlen(Keys(key_prefix).index) == 1 + 249


def test_a_batch_after_the_server_forgot_its_scripts_creates_each_item_once(
    admin_client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    _batch(admin_client, [{"targetUrl": URL}])
    redis_sync.script_flush()

    results = _batch(admin_client, [{"targetUrl": URL + str(i)} for i in range(3)]).json()

    links = [r["link"] for r in results["results"]]
    assert [link["targetUrl"] for link in links] == [URL + "0", URL + "1", URL + "2"]
    for link in links:
        assert admin_client.get(f"/api/v1/links/{link['shortCode']}").json() == link
    assert redis_sync.xlen(Keys(key_prefix).index) == 1 + 3


def test_a_batch_on_a_full_server_answers_503_for_each_item_and_stores_nothing(
    make_redis_server: Callable[..., RedisServer], app_settings: Settings, key_prefix: str
) -> None:
    server = make_redis_server()
    client = redis.Redis.from_url(server.url)
    client.config_set("maxmemory", "1")
    settings = dataclasses.replace(app_settings, redis=RedisEndpoint.from_url(server.url))
    items = [{"targetUrl": URL + str(i)} for i in range(3)] + [{"targetUrl": "nope"}]

    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as http:
        response = _batch(http, items)

    results = response.json()["results"]
    assert response.status_code == 200
    assert [(r["index"], r["status"]) for r in results] == [(0, 503), (1, 503), (2, 503), (3, 400)]
    assert {tuple(r["errors"]) for r in results[:3]} == {("Storage is unavailable, retry shortly",)}
    assert client.keys(f"{key_prefix}:*") == []
