"""PATCH maxViews while GETs race for the link, real processes over real sockets.

update_link and resolve_link are each one atomic script, so every view is counted against the
limit in force at that moment, and the PATCH reply's `views` is the count at the moment of the
change. Clients are a bounded number of keep-alive connections (30 clients, each sending its
requests one after another); the PATCH is triggered by a count of answers seen, never by time,
and every client goes on until it has sent requests after the PATCH's reply arrived, so there
is traffic on both sides of the change however busy the machine is.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.stacks import Stack

CLIENTS = 30
REQUESTS_EACH = 10  # at least; 300 GETs before the stop rule below has its say
MAX_REQUESTS_EACH = 2_000  # a bound that only a broken stop rule would reach
WAIT_SECONDS = 120

# One client's answers: (status, sent after the PATCH's reply had arrived).
Answers = list[tuple[int, bool]]


@dataclass
class Race:
    """GETs from CLIENTS keep-alive clients, and one PATCH once `trigger` answers are seen."""

    stack: Stack
    code: str
    change: dict[str, Any]
    trigger_status: int
    trigger_count: int
    done: Callable[[Answers], bool]
    # Answers of trigger_status after which a client sends nothing more until the PATCH's reply
    # is in (None: no pause): keeps the link from running out before the PATCH lands.
    hold_at: int | None = None
    seen: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    triggered: threading.Event = field(default_factory=threading.Event)
    patched: threading.Event = field(default_factory=threading.Event)

    def run(self) -> tuple[httpx.Response, list[Answers]]:
        start = threading.Barrier(CLIENTS)
        with ThreadPoolExecutor(CLIENTS + 1) as pool:
            patch = pool.submit(self._patch)
            clients = [pool.submit(self._client, start) for _ in range(CLIENTS)]
            answers = [client.result(timeout=WAIT_SECONDS) for client in clients]
            return patch.result(timeout=WAIT_SECONDS), answers

    def _patch(self) -> httpx.Response:
        path = f"/api/v1/links/{self.code}"
        headers = self.stack.auth_headers
        try:
            with httpx.Client(base_url=self.stack.admin_url, headers=headers, timeout=30) as admin:
                # Its connection is open before the trigger: the PATCH is one round trip then.
                assert admin.get(path).status_code == 200
                assert self.triggered.wait(WAIT_SECONDS), f"never triggered: {self.seen}"
                return admin.patch(path, json=self.change)
        finally:
            self.patched.set()  # also on a failure, so no client waits for a PATCH forever

    def _client(self, start: threading.Barrier) -> Answers:
        answers: Answers = []
        with httpx.Client(base_url=self.stack.redirector_url, timeout=30) as client:
            start.wait(WAIT_SECONDS)
            while len(answers) < MAX_REQUESTS_EACH:
                with self.lock:
                    hold = (
                        self.hold_at is not None and self.seen[self.trigger_status] >= self.hold_at
                    )
                if hold:
                    self.patched.wait(WAIT_SECONDS)
                after_patch = self.patched.is_set()
                status = client.get(f"/{self.code}").status_code
                answers.append((status, after_patch))
                with self.lock:
                    self.seen[status] += 1
                    if self.seen[self.trigger_status] >= self.trigger_count:
                        self.triggered.set()
                if self.done(answers):
                    break
        return answers


def _views(stack: Stack, code: str) -> dict[str, Any]:
    response = stack.admin("GET", f"/api/v1/links/{code}")
    assert response.status_code == 200
    link: dict[str, Any] = response.json()
    return link


def test_lowering_max_views_mid_race_counts_no_view_past_the_new_limit(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/lowered", maxViews=50)["shortCode"]
    race = Race(
        stack,
        code,
        change={"maxViews": 20},
        trigger_status=302,
        trigger_count=2,
        # Requests sent before the hold: 15 seen plus at most 29 in flight, so the PATCH lands
        # at 2 to 44 views, with GETs still flying, and the link cannot run out before it.
        hold_at=15,
        # Ten requests, and on until one was sent after the PATCH's reply.
        done=lambda answers: len(answers) >= REQUESTS_EACH and answers[-1][1],
    )

    reply, answers = race.run()

    statuses = Counter(status for client in answers for status, _ in client)
    late_redirects = sum(
        1 for client in answers for status, after in client if after and status == 302
    )
    at_patch = reply.json()
    final = _views(stack, code)
    assert reply.status_code == 200, reply.text
    assert at_patch["maxViews"] == 20
    assert 2 <= at_patch["views"] <= 44
    assert set(statuses) <= {302, 410}
    assert final["views"] == statuses[302]
    # Every client sent requests after the reply: the new limit is reached, never passed.
    assert final["views"] == max(20, at_patch["views"])
    assert final["views"] <= 50
    if at_patch["views"] >= 20:
        assert late_redirects == 0
    assert (final["remainingViews"], final["status"]) == (0, "exhausted")


def test_raising_max_views_of_an_exhausted_link_mid_race_counts_exactly_the_new_limit(
    stack: Stack,
) -> None:
    code = stack.create_link(targetUrl="https://example.com/raised", maxViews=5)["shortCode"]
    first = [stack.visit("GET", f"/{code}").status_code for _ in range(6)]
    race = Race(
        stack,
        code,
        change={"maxViews": 25},
        trigger_status=410,
        trigger_count=30,
        # On until a request sent after the PATCH's reply is refused: the new limit is spent.
        done=lambda answers: answers[-1] == (410, True),
    )

    reply, answers = race.run()

    statuses = Counter(status for client in answers for status, _ in client)
    final = _views(stack, code)
    assert first == [302] * 5 + [410]
    assert reply.status_code == 200, reply.text
    assert (reply.json()["views"], reply.json()["status"]) == (5, "active")
    assert set(statuses) <= {302, 410}
    assert statuses[302] == 20
    assert (final["views"], final["remainingViews"], final["status"]) == (25, 0, "exhausted")
    assert all(client[-1] == (410, True) for client in answers)
