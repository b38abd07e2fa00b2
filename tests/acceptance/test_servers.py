"""SECURELINK_SERVER: the same services under granian, the measured alternative to uvicorn.

uvicorn is the default and the server every other acceptance test runs. granian is selectable
for operators who accept what it does not keep (README, "Performance"); these tests prove it
serves the same app, and pin the differences the README names so a granian upgrade that
removes one is noticed.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.support.stacks import Stack

JSON = {"Accept": "application/json"}


def test_under_granian_a_link_redirects_counts_one_view_and_unknown_codes_get_404(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack(SECURELINK_SERVER="granian")
    code = stack.create_link(targetUrl="https://example.com/granian")["shortCode"]

    redirect = stack.visit("GET", f"/{code}")
    head = stack.visit("HEAD", f"/{code}")
    unknown = stack.visit("GET", "/NoSuchCode1", headers=JSON)
    views = stack.admin("GET", f"/api/v1/links/{code}").json()["views"]

    assert redirect.status_code == 302
    assert redirect.headers["location"] == "https://example.com/granian"
    assert redirect.headers["cache-control"] == "private, no-store"
    assert redirect.headers["x-content-type-options"] == "nosniff"
    assert head.status_code == 302
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "No link has this code."
    assert views == 1


def test_granian_differs_from_the_contract_where_the_readme_says(
    start_stack: Callable[..., Stack],
) -> None:
    granian = start_stack(SECURELINK_SERVER="granian")
    uvicorn = start_stack()

    def huge_head(stack: Stack) -> bytes:
        url = urlsplit(stack.redirector_url)
        assert url.hostname and url.port
        head = b"GET /-/healthz HTTP/1.1\r\nHost: x\r\n"
        head += b"".join(b"X-H%d: %s\r\n" % (n, b"a" * 8000) for n in range(60))
        with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
            with contextlib.suppress(OSError):  # the server may close before it is all written
                sock.sendall(head + b"\r\n")
            return sock.recv(65536)

    assert "server" not in uvicorn.visit("GET", "/-/healthz").headers
    assert granian.visit("GET", "/-/healthz").headers["server"] == "granian"
    # 480 KB of headers: both answer 431; only uvicorn's (ours) carries nosniff and a text.
    assert huge_head(uvicorn).startswith(b"HTTP/1.1 431 ")
    assert b"x-content-type-options: nosniff" in huge_head(uvicorn)
    assert huge_head(granian).startswith(b"HTTP/1.1 431 ")
    assert b"x-content-type-options" not in huge_head(granian)


def test_under_granian_json_logs_are_one_object_a_line_granians_own_included(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack(
        SECURELINK_SERVER="granian",
        SECURELINK_WORKERS=2,
        SECURELINK_LOG_FORMAT="json",
        SECURELINK_LOG_LEVEL="info",
        SECURELINK_ACCESS_LOG=1,
    )
    code = stack.create_link(targetUrl="https://example.com/logged")["shortCode"]
    redirect = stack.visit("GET", f"/{code}")
    missing = stack.visit("GET", "/NoSuchCode3", headers={"X-Request-Id": "req-granian"})
    stack.stop()

    records = {
        service.name: [json.loads(line) for line in service.output().splitlines() if line.strip()]
        for service in stack.services
    }

    assert (redirect.status_code, missing.status_code) == (302, 404)
    for lines in records.values():
        assert lines, "info level logs granian's start-up"
        assert all(isinstance(record, dict) for record in lines)
        assert all({"time", "level", "logger", "event"} <= set(record) for record in lines)
        events = [record["event"] for record in lines if record["logger"] == "_granian"]
        assert events[0].startswith("Starting granian")
        assert sum(event.startswith("Spawning worker-") for event in events) == 2
    access = [r for r in records["redirector"] if r["logger"] == "granian.access"]
    assert [(r["method"], r["path"], r["status"]) for r in access if r["path"] != "/-/healthz"] == [
        ("GET", f"/{code}", 302),
        ("GET", "/NoSuchCode3", 404),
    ]
    assert [r.get("request_id") for r in access if r["path"] == "/NoSuchCode3"] == ["req-granian"]
    assert all(r["http_version"] == "1.1" and r["client"] == "127.0.0.1" for r in access)
