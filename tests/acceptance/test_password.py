"""Password-protected links as real processes: made on the admin API, opened on the redirector."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import cast

import httpx
import redis

from tests.support.raw import raw_field, raw_hash
from tests.support.stacks import Stack

PASSWORD = "Tr0ub4dor&3-acceptance"
TARGET = "https://target.example/after-the-password"
JSON = {"Accept": "application/json"}
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


def protected(stack: Stack, **fields: object) -> dict[str, object]:
    return stack.create_link(targetUrl=TARGET, password=PASSWORD, **fields)


def views_of(stack: Stack, code: object) -> int:
    response = stack.admin("GET", f"/api/v1/links/{code}")
    assert response.status_code == 200
    views: int = response.json()["views"]
    return views


def dump(client: redis.Redis, prefix: str) -> bytes:
    """Every key under the prefix and everything in it, as one blob."""
    blob = bytearray()
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        blob += key + b"\n"
        kind = client.type(key)
        if kind == b"hash":
            for field, value in raw_hash(client, key).items():
                blob += field + b"=" + value + b"\n"
        elif kind == b"string":
            blob += (cast(bytes | None, client.get(key)) or b"") + b"\n"
        elif kind == b"stream":
            for _, entry in cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(key)):
                for field, value in entry.items():
                    blob += field + b"=" + value + b"\n"
        else:
            blob += client.dump(key) or b""
    return bytes(blob)


def test_created_link_says_only_that_it_is_protected(stack: Stack) -> None:
    response = stack.create(targetUrl=TARGET, password=PASSWORD)

    fetched = stack.admin("GET", f"/api/v1/links/{response.json()['shortCode']}")

    assert response.status_code == 201
    assert response.json()["passwordProtected"] is True
    assert "password" not in response.json()
    assert PASSWORD not in response.text
    assert PASSWORD not in fetched.text


def test_protected_link_answers_the_form_and_json_clients_401(stack: Stack) -> None:
    code = protected(stack)["shortCode"]

    page = stack.visit("GET", f"/{code}")
    as_json = stack.visit("GET", f"/{code}", headers=JSON)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "no-store" in page.headers["cache-control"]
    assert '<form method="post">' in page.text
    assert TARGET not in page.text
    assert as_json.status_code == 401
    assert as_json.json() == {
        "status": 401,
        "error": "Unauthorized",
        "message": "Password required",
    }
    assert views_of(stack, code) == 0


def test_right_password_redirects_303_and_counts_one_view(stack: Stack) -> None:
    code = protected(stack, maxViews=3)["shortCode"]

    by_form = stack.visit("POST", f"/{code}", data={"password": PASSWORD})
    by_json = stack.visit("POST", f"/{code}", json={"password": PASSWORD})

    assert by_form.status_code == by_json.status_code == 303
    assert by_form.headers["location"] == by_json.headers["location"] == TARGET
    assert views_of(stack, code) == 2


def test_wrong_password_answers_401_with_the_form_again(stack: Stack) -> None:
    code = protected(stack)["shortCode"]

    response = stack.visit("POST", f"/{code}", data={"password": "not-it"})

    assert response.status_code == 401
    assert '<form method="post">' in response.text
    assert "Wrong password. Try again." in response.text
    assert views_of(stack, code) == 0


def test_sixth_wrong_try_answers_429_with_retry_after(stack: Stack) -> None:
    code = protected(stack)["shortCode"]

    wrong = [stack.visit("POST", f"/{code}", data={"password": f"no{i}"}) for i in range(5)]
    sixth = stack.visit("POST", f"/{code}", data={"password": "no6"})

    assert [r.status_code for r in wrong] == [401] * 5
    assert sixth.status_code == 429
    assert 0 < int(sixth.headers["retry-after"]) <= 900


def test_two_view_link_opens_exactly_twice_for_twenty_racing_right_guesses(
    stack: Stack,
) -> None:
    code = protected(stack, maxViews=2)["shortCode"]
    start = threading.Barrier(20)

    def guess(_: int) -> int:
        with httpx.Client(base_url=stack.redirector_url, timeout=30) as client:
            start.wait()
            return client.post(f"/{code}", data={"password": PASSWORD}).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = sorted(pool.map(guess, range(20)))

    assert statuses == [303, 303] + [410] * 18
    assert views_of(stack, code) == 2


def test_argon2id_at_rest_and_the_plaintext_nowhere_in_redis(
    stack: Stack, redis_sync: redis.Redis
) -> None:
    code = protected(stack, maxViews=5)["shortCode"]
    stack.visit("POST", f"/{code}", data={"password": PASSWORD + "?"})
    stack.visit("POST", f"/{code}", data={"password": PASSWORD})

    stored = raw_field(redis_sync, f"{stack.prefix}:link:{{{code}}}", "p")
    everything = dump(redis_sync, stack.prefix)

    assert stored is not None and stored.startswith(b"$argon2id$")
    assert f"{{{code}}}".encode() in everything
    assert PASSWORD.encode() not in everything


def test_password_is_never_logged_even_at_debug(start_stack: Callable[..., Stack]) -> None:
    chatty = start_stack(SECURELINK_LOG_LEVEL="debug")
    code = protected(chatty)["shortCode"]

    chatty.visit("POST", f"/{code}", data={"password": PASSWORD + "x"})
    chatty.visit("POST", f"/{code}", json={"password": PASSWORD})
    chatty.visit("GET", f"/{code}?password={PASSWORD}")
    chatty.stop()

    assert "Application startup complete" in chatty.output()
    assert PASSWORD not in chatty.output()


def test_preview_bots_and_head_count_nothing(stack: Stack) -> None:
    limited = stack.create_link(targetUrl=TARGET, maxViews=1)["shortCode"]
    locked = protected(stack, maxViews=1)["shortCode"]

    previews = [
        stack.visit("GET", f"/{code}", headers={"User-Agent": SLACK}) for code in (limited, locked)
    ]
    heads = [stack.visit("HEAD", f"/{code}") for code in (limited, locked)]

    assert [r.status_code for r in previews] == [200, 200]
    assert all("target.example" not in r.text and "location" not in r.headers for r in previews)
    assert [r.status_code for r in heads] == [200, 200]  # view-limited: never the target
    assert all("location" not in r.headers for r in heads)
    assert views_of(stack, limited) == views_of(stack, locked) == 0


def test_delete_removes_every_clients_password_counters_and_the_code_starts_clean(
    start_stack: Callable[..., Stack], redis_sync: redis.Redis
) -> None:
    # Behind a trusted proxy (this test), X-Forwarded-For tells the clients apart.
    stack = start_stack(SECURELINK_TRUSTED_PROXIES="127.0.0.1")
    code = protected(stack, customCode=f"del-{secrets.token_hex(6)}")["shortCode"]
    for client in ("203.0.113.1", "203.0.113.2"):
        for i in range(4):
            wrong = stack.visit(
                "POST", f"/{code}", data={"password": f"no{i}"}, headers={"X-Forwarded-For": client}
            )
            assert wrong.status_code == 401
    failures = f"{stack.prefix}:pwfail:{{{code}}}".encode()
    assert redis_sync.hlen(failures) == 2

    deleted = stack.admin("DELETE", f"/api/v1/links/{code}")

    assert deleted.status_code == 204
    assert list(redis_sync.scan_iter(match=f"*{{{code}}}*", count=1000)) == []
    protected(stack, customCode=code)
    again = [
        stack.visit(
            "POST", f"/{code}", data={"password": f"re{i}"}, headers={"X-Forwarded-For": client}
        ).status_code
        for client in ("203.0.113.1", "203.0.113.2")
        for i in range(6)
    ]
    assert again == ([401] * 5 + [429]) * 2
