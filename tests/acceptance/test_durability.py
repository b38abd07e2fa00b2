"""With appendfsync always, a Redis crash or restart mid-load loses no acknowledged write."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx

from devtools.redis_server import RedisServer
from tests.support.loadloop import LoadLoop
from tests.support.stacks import Stack
from tests.support.waiting import wait_until

RECOVERY_SECONDS = 30.0  # bounds the wait for readiness; Redis restarts in well under 1 s
MAX_VIEWS = 400


class CreateLoop:
    """Creates links until stopped; remembers the code of every 201."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.created: list[str] = []
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> CreateLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        headers = self.stack.auth_headers
        with httpx.Client(base_url=self.stack.admin_url, headers=headers, timeout=5) as client:
            number = 0
            while not self._stop.is_set():
                number += 1
                body = {"targetUrl": f"https://example.com/{number}", "maxViews": 3}
                try:
                    response = client.post("/api/v1/links", json=body)
                except httpx.TransportError:
                    self.statuses[0] += 1
                    continue
                self.statuses[response.status_code] += 1
                if response.status_code == 201:
                    self.created.append(response.json()["shortCode"])


def test_crash_and_restart_mid_load_lose_no_created_link_and_no_counted_view(
    make_redis_server: Callable[..., RedisServer], start_stack: Callable[..., Stack]
) -> None:
    server = make_redis_server(appendonly=True, appendfsync="always")
    stack = start_stack(SECURELINK_REDIS_URL=server.url)
    links = [
        stack.create_link(targetUrl=f"https://example.com/v{n}", maxViews=MAX_VIEWS)
        for n in range(4)
    ]
    paths = [f"/{link['shortCode']}" for link in links]

    outages: list[tuple[float, float]] = []
    with CreateLoop(stack) as creates, LoadLoop(stack.redirector_url, paths) as load:
        for stop in (server.kill, server.stop):  # a crash, then a clean shutdown
            wait_until(lambda: len(creates.created) >= 10 and len(load.answers) >= 40)
            stopping = time.monotonic()
            stop()  # returns once the process has exited
            exited = time.monotonic()
            outages.append((stopping, exited))
            # The load meets the outage before Redis comes back.
            wait_until(lambda: len(load.between(exited)) >= 4)  # noqa: B023 (used at once)
            server.restart()
            wait_until(
                lambda: all(_ready(url) for url in (stack.admin_url, stack.redirector_url)),
                timeout=RECOVERY_SECONDS,
            )
            mark = time.monotonic()
            wait_until(lambda: len(load.between(mark)) >= 40)  # noqa: B023 (used at once)

    missing = [
        code
        for code in creates.created
        if stack.admin("GET", f"/api/v1/links/{code}").status_code != 200
    ]
    assert not missing
    assert set(creates.statuses) <= {201, 503}
    assert load.statuses() <= {302, 410, 503}
    for path in paths:
        answers = [answer for answer in load.answers if answer.path == path]
        served = sum(answer.status == 302 for answer in answers)
        # A request in flight while Redis went down may have counted and lost its reply
        # (SIGTERM: Redis serves on until its next cron tick, then exits mid-batch).
        unsure = sum(
            answer.status == 503 and answer.started < exited
            for answer in answers
            for stopping, exited in outages
            if answer.started + answer.elapsed >= stopping
        )
        views = stack.admin("GET", f"/api/v1/links{path}").json()["views"]
        assert served <= views <= min(served + unsure, MAX_VIEWS), (path, served, unsure, views)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
