"""Password-protected links in-process: the form, the POST flow, exact views, Argon2id at rest."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import httpx
import pytest
import redis
from argon2 import PasswordHasher, extract_parameters

from redirector import password as password_flow
from shared.keys import Keys
from shared.passwords import OWASP, Passwords
from shared.settings import Settings
from tests.support.password_support import (
    PASSWORD,
    TARGET,
    dump_prefix,
    redirector,
    run,
    settings_for,
    store_link,
    views,
)

JSON = {"Accept": "application/json"}
WAIT_SECONDS = 30.0  # bounds a wait for an event that comes in milliseconds


def failure_count(client: redis.Redis, key_prefix: str, code: str, who: str) -> int:
    """A client's wrong passwords on a link: its field of the link's failures hash."""
    entry = client.hget(Keys(key_prefix).password_failures(code), who)
    return 0 if entry is None else int(entry.split()[0])


@pytest.fixture
def settings(redis_url: str, key_prefix: str, tmp_path: Path) -> Settings:
    return settings_for(redis_url, key_prefix, tmp_path)


def test_protected_link_answers_a_form_page_with_strict_headers(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.get(f"/{code}")

    response = run(scenario())

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "no-store" in response.headers["cache-control"]
    assert '<form method="post">' in response.text
    assert 'name="password"' in response.text
    assert '<label for="password">' in response.text
    assert "<script" not in response.text and "http" not in response.text.split("<body>")[1]
    assert TARGET not in response.text
    assert views(redis_sync, key_prefix, code) == 0


def test_json_client_gets_401_password_required(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.get(f"/{code}", headers=JSON)

    response = run(scenario())

    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "error": "Unauthorized",
        "message": "Password required",
    }
    assert views(redis_sync, key_prefix, code) == 0


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_right_password_answers_303_to_the_target_and_counts_one_view(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str, as_json: bool
) -> None:
    code = store_link(redis_sync, key_prefix, max_views=5)

    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            if as_json:
                return await client.post(f"/{code}", json={"password": PASSWORD})
            return await client.post(f"/{code}", data={"password": PASSWORD})

    response = run(scenario())

    assert response.status_code == 303
    assert response.headers["location"] == TARGET
    assert "no-store" in response.headers["cache-control"]
    assert views(redis_sync, key_prefix, code) == 1


def test_multipart_form_field_is_read_too(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.post(f"/{code}", files={"password": (None, PASSWORD)})

    response = run(scenario())

    assert response.status_code == 303


def test_wrong_password_answers_401_with_the_form_and_a_clear_message(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with redirector(settings) as app, app.client() as client:
            page = await client.post(f"/{code}", data={"password": "nope"})
            as_json = await client.post(f"/{code}", json={"password": "nope"}, headers=JSON)
            return page, as_json

    page, as_json = run(scenario())

    assert page.status_code == 401
    assert '<form method="post">' in page.text
    assert 'role="alert"' in page.text
    assert "Wrong password. Try again." in page.text
    assert "nope" not in page.text
    assert "no-store" in page.headers["cache-control"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert as_json.status_code == 401
    assert as_json.json() == {
        "status": 401,
        "error": "Unauthorized",
        "message": "Wrong password. Try again.",
    }
    assert views(redis_sync, key_prefix, code) == 0


def test_missing_password_asks_for_it_without_counting_a_failure(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with redirector(settings) as app, app.client() as client:
            page = await client.post(f"/{code}", data={"password": ""})
            as_json = await client.post(f"/{code}", json={}, headers=JSON)
            return page, as_json

    page, as_json = run(scenario())

    assert page.status_code == 401
    assert "Enter the password." in page.text
    assert as_json.json()["message"] == "Password required"
    assert list(redis_sync.scan_iter(match=f"{key_prefix}:pw*")) == []


def test_malformed_and_oversized_bodies_are_refused(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with redirector(settings) as app, app.client() as client:
            malformed = await client.post(
                f"/{code}",
                content=b"{not json",
                headers={"Content-Type": "application/json", **JSON},
            )
            oversized = await client.post(f"/{code}", data={"password": "x" * 20_000})
            return malformed, oversized

    malformed, oversized = run(scenario())

    assert malformed.status_code == 400
    assert malformed.json()["message"] == "Malformed request body"
    assert oversized.status_code == 413


def test_sixth_wrong_try_answers_429_with_retry_after(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> tuple[list[httpx.Response], httpx.Response, httpx.Response]:
        async with redirector(settings) as app, app.client() as client:
            wrong = [
                await client.post(f"/{code}", data={"password": f"guess{i}"}) for i in range(5)
            ]
            sixth = await client.post(f"/{code}", data={"password": "guess6"}, headers=JSON)
            right_after = await client.post(f"/{code}", data={"password": PASSWORD})
            return wrong, sixth, right_after

    wrong, sixth, right_after = run(scenario())

    assert [r.status_code for r in wrong] == [401] * 5
    assert sixth.status_code == 429
    assert 0 < int(sixth.headers["retry-after"]) <= 15 * 60
    assert sixth.json() == {
        "status": 429,
        "error": "Too Many Requests",
        "message": "Too many wrong passwords. Try again later.",
    }
    assert right_after.status_code == 429
    assert views(redis_sync, key_prefix, code) == 0


def test_one_locked_out_client_leaves_the_others_free(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with (
            redirector(settings) as app,
            app.client("198.51.100.7") as attacker,
            app.client("192.0.2.20") as friend,
        ):
            for i in range(6):
                await attacker.post(f"/{code}", data={"password": f"guess{i}"})
            locked = await attacker.post(f"/{code}", data={"password": "again"})
            wrong = await friend.post(f"/{code}", data={"password": "typo"})
            right = await friend.post(f"/{code}", data={"password": PASSWORD})
            return locked, wrong, right

    locked, wrong, right = run(scenario())

    assert locked.status_code == 429
    assert wrong.status_code == 401
    assert right.status_code == 303


def test_right_password_clears_the_clients_own_failures(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> list[int]:
        async with redirector(settings) as app, app.client() as client:
            for i in range(4):
                await client.post(f"/{code}", data={"password": f"typo{i}"})
            await client.post(f"/{code}", data={"password": PASSWORD})
            return [
                (await client.post(f"/{code}", data={"password": f"later{i}"})).status_code
                for i in range(5)
            ]

    later = run(scenario())

    assert later == [401] * 5


def test_ipv6_clients_of_one_64_network_share_a_limit() -> None:
    first = password_flow.client_id("2001:db8:1:2::1")
    second = password_flow.client_id("2001:db8:1:2:ffff::9")
    other = password_flow.client_id("2001:db8:1:3::1")

    assert first == second == "2001:db8:1:2::/64"
    assert other != first
    assert password_flow.client_id("::ffff:192.0.2.1") == "192.0.2.1"
    assert password_flow.client_id("203.0.113.9") == "203.0.113.9"


def test_link_bucket_stops_distributed_guessing_but_not_the_rightful_user_for_long(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = store_link(redis_sync, key_prefix)
    now = [1_800_000_000_000]
    monkeypatch.setattr(password_flow, "clock_ms", lambda: now[0])

    async def scenario() -> tuple[list[int], httpx.Response, httpx.Response]:
        async with redirector(settings) as app:
            statuses = []
            for n in range(22):
                async with app.client(f"10.0.{n}.1") as guesser:
                    for i in range(password_flow.CLIENT_FAILURE_LIMIT):
                        response = await guesser.post(f"/{code}", data={"password": f"g{n}-{i}"})
                        statuses.append(response.status_code)
            async with app.client("192.0.2.99") as newcomer:
                refused = await newcomer.post(f"/{code}", data={"password": PASSWORD})
                now[0] += password_flow.LINK_REFILL_MS
                let_in = await newcomer.post(f"/{code}", data={"password": PASSWORD})
            return statuses, refused, let_in

    statuses, refused, let_in = run(scenario())

    capacity = password_flow.LINK_BUCKET_CAPACITY
    assert statuses == [401] * capacity + [429] * (110 - capacity)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 3
    assert let_in.status_code == 303
    assert views(redis_sync, key_prefix, code) == 1


def test_failure_counters_carry_the_code_and_expire_by_themselves(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> None:
        async with redirector(settings) as app, app.client() as client:
            for i in range(3):
                await client.post(f"/{code}", data={"password": f"guess{i}"})

    run(scenario())

    counters = list(redis_sync.scan_iter(match=f"{key_prefix}:pw*"))
    failures = f"{key_prefix}:pwfail:{{{code}}}".encode()
    bucket = f"{key_prefix}:pwrate:{{{code}}}".encode()
    assert sorted(counters) == sorted([failures, bucket])
    assert failure_count(redis_sync, key_prefix, code, "203.0.113.1") == 3
    assert 0 < redis_sync.ttl(failures) <= password_flow.FAILURE_WINDOW_SECONDS
    assert 0 < redis_sync.pttl(bucket) <= 3 * password_flow.LINK_REFILL_MS


def test_racing_right_guesses_open_a_two_view_link_exactly_twice(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix, max_views=2)

    async def scenario() -> list[httpx.Response]:
        async with redirector(settings) as app, app.client() as client:
            return await asyncio.gather(
                *(client.post(f"/{code}", data={"password": PASSWORD}) for _ in range(20))
            )

    responses = run(scenario())

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [303, 303] + [410] * 18
    assert views(redis_sync, key_prefix, code) == 2


def test_right_guesses_waiting_for_a_place_hear_410_once_the_link_runs_out(
    settings: Settings,
    redis_sync: redis.Redis,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Slow hashing and a wait shorter than the queue: a waiter that only polled for a place
    # would still be queued at the deadline and get 429, though the link had long run out for
    # it. The two right guesses take 2 s of the 5 s wait, a margin a busy machine keeps; the
    # queue of 20 one-second checks would take 20 s.
    code = store_link(redis_sync, key_prefix, max_views=2)
    verify = Passwords.verify

    async def slow_verify(self: Passwords, stored: str, password: str) -> tuple[bool, str | None]:
        await asyncio.sleep(1.0)
        return await verify(self, stored, password)

    monkeypatch.setattr(Passwords, "verify", slow_verify)
    monkeypatch.setattr(password_flow, "BUSY_WAIT_SECONDS", 5.0)

    async def scenario() -> list[httpx.Response]:
        async with redirector(settings) as app, app.client() as client:
            return await asyncio.gather(
                *(client.post(f"/{code}", data={"password": PASSWORD}) for _ in range(20))
            )

    responses = run(scenario())

    assert sorted(r.status_code for r in responses) == [303, 303] + [410] * 18
    assert views(redis_sync, key_prefix, code) == 2


def test_racing_wrong_guesses_get_only_five_checks(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> list[httpx.Response]:
        async with redirector(settings) as app, app.client() as client:
            return await asyncio.gather(
                *(client.post(f"/{code}", data={"password": f"burst{i}"}) for i in range(20))
            )

    responses = run(scenario())

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * 5 + [429] * 15
    assert failure_count(redis_sync, key_prefix, code, "203.0.113.1") == 5
    assert list(redis_sync.scan_iter(match=f"{key_prefix}:pwpend:*")) == []


def test_head_counts_nothing(settings: Settings, redis_sync: redis.Redis, key_prefix: str) -> None:
    protected = store_link(redis_sync, key_prefix, max_views=1)
    limited = store_link(redis_sync, key_prefix, max_views=1, password=None)

    async def scenario() -> list[httpx.Response]:
        async with redirector(settings) as app, app.client() as client:
            return [await client.head(f"/{code}") for code in (protected, limited, limited)]

    form, redirect, again = run(scenario())

    assert form.status_code == 200
    # A view-limited url link: the neutral page's headers, never its target (the contract).
    assert redirect.status_code == again.status_code == 200
    assert "location" not in redirect.headers
    assert views(redis_sync, key_prefix, protected) == 0
    assert views(redis_sync, key_prefix, limited) == 0


def test_hash_at_rest_is_argon2id_and_the_plaintext_is_nowhere_in_redis(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix, max_views=3)

    async def scenario() -> None:
        async with redirector(settings) as app, app.client() as client:
            await client.post(f"/{code}", data={"password": "wrong " + PASSWORD})
            await client.post(f"/{code}", data={"password": PASSWORD})

    run(scenario())

    stored = redis_sync.hget(Keys(key_prefix).link(code), "p")
    assert isinstance(stored, bytes) and stored.startswith(b"$argon2id$")
    everything = dump_prefix(redis_sync, key_prefix)
    assert everything
    for key, value in everything.items():
        assert PASSWORD.encode() not in key + value


def test_weaker_stored_hash_is_upgraded_after_a_right_password(
    redis_url: str, redis_sync: redis.Redis, key_prefix: str, tmp_path: Path
) -> None:
    code = store_link(redis_sync, key_prefix)  # the cheapest parameters
    settings = settings_for(redis_url, key_prefix, tmp_path, argon2_profile="owasp")

    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.post(f"/{code}", data={"password": PASSWORD})

    response = run(scenario())

    stored = redis_sync.hget(Keys(key_prefix).link(code), "p")
    assert response.status_code == 303
    assert isinstance(stored, bytes)
    parameters = extract_parameters(stored.decode())
    assert (parameters.memory_cost, parameters.time_cost) == (19 * 1024, 2)
    assert PasswordHasher.from_parameters(OWASP).verify(stored.decode(), PASSWORD)


def test_stronger_stored_hash_is_never_downgraded(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    strong = PasswordHasher.from_parameters(OWASP).hash(PASSWORD)
    code = store_link(redis_sync, key_prefix, password_hash=strong)

    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.post(f"/{code}", data={"password": PASSWORD})

    response = run(scenario())

    assert response.status_code == 303
    assert redis_sync.hget(Keys(key_prefix).link(code), "p") == strong.encode()


def test_password_never_reaches_the_logs(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    code = store_link(redis_sync, key_prefix)
    damaged = store_link(redis_sync, key_prefix, password_hash="$argon2id$v=19$broken")
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with redirector(settings) as app, app.client() as client:
            await client.post(f"/{code}", data={"password": "wrong-" + PASSWORD})
            await client.post(f"/{code}", data={"password": PASSWORD})
            await client.post(f"/{damaged}", json={"password": PASSWORD})

    run(scenario())

    assert "stored password hash could not be read" in caplog.text
    assert PASSWORD not in caplog.text


def test_unknown_link_answers_404_and_leaves_no_counters(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.post("/NoSuchCode1", data={"password": "x"})

    response = run(scenario())

    assert response.status_code == 404
    assert list(redis_sync.scan_iter(match=f"{key_prefix}:*")) == []


def test_revoked_protected_link_answers_410_even_to_the_right_password(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)
    redis_sync.hset(Keys(key_prefix).link(code), "r", "1767225600000")

    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.post(f"/{code}", data={"password": PASSWORD})

    response = run(scenario())

    assert response.status_code == 410
    assert views(redis_sync, key_prefix, code) == 0


def test_hashing_runs_off_the_event_loop(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    # Each check blocks until the loop has served a probe; a check run on the loop itself
    # would hold the loop, the probe could not run and the check would find it not done.
    codes = [store_link(redis_sync, key_prefix) for _ in range(4)]
    probe_ran = threading.Event()
    checking = threading.Event()
    saw_probe: list[bool] = []

    class ProbeWaitingHasher:
        def __init__(self, hasher: PasswordHasher) -> None:
            self.hasher = hasher

        def verify(self, stored: str, password: str) -> bool:
            checking.set()
            saw_probe.append(probe_ran.wait(WAIT_SECONDS))
            return self.hasher.verify(stored, password)

        def __getattr__(self, name: str) -> object:
            return getattr(self.hasher, name)

    async def scenario() -> tuple[bool, httpx.Response, list[httpx.Response]]:
        async with redirector(settings) as app, app.client() as client:
            passwords = app.app.state.services.passwords
            passwords.hasher = ProbeWaitingHasher(passwords.hasher)
            checks = asyncio.gather(
                *(client.post(f"/{code}", data={"password": PASSWORD}) for code in codes)
            )
            started = await asyncio.to_thread(checking.wait, WAIT_SECONDS)
            health = await client.get("/-/healthz")  # the probe: served while a check runs
            probe_ran.set()
            return started, health, list(await checks)

    started, health, results = run(scenario())

    assert started
    assert health.status_code == 200
    assert [r.status_code for r in results] == [303] * 4
    assert saw_probe == [True] * 4
