"""Whole-service metrics with several workers, and log lines as JSON, on real processes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx

from tests.support.stacks import Stack

REDIRECTS = 200
SCRAPES = 20
OK_LINE = re.compile(
    r'^securelink_resolutions_total\{outcome="ok",service="redirector"\} (\S+)$', re.M
)
HOT_COUNT = re.compile(
    r'^securelink_request_duration_seconds_count\{route="/\{code\}",service="redirector",'
    r'status="302"\} (\S+)$',
    re.M,
)


def _fresh_connection_get(url: str) -> httpx.Response:
    """A request on a connection of its own, so the kernel may hand it to either worker."""
    with httpx.Client(timeout=30) as client:
        return client.get(url, headers={"Connection": "close"})


def test_every_scrape_of_a_two_worker_redirector_counts_every_redirect(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack(SECURELINK_WORKERS=2)
    code = stack.create_link(targetUrl="https://example.com/m")["shortCode"]

    statuses = [
        _fresh_connection_get(f"{stack.redirector_url}/{code}").status_code
        for _ in range(REDIRECTS)
    ]
    scrapes = [
        _fresh_connection_get(f"{stack.redirector_url}/-/metrics").text for _ in range(SCRAPES)
    ]

    assert statuses == [302] * REDIRECTS
    assert [OK_LINE.findall(text) for text in scrapes] == [["200.0"]] * SCRAPES
    assert [HOT_COUNT.findall(text) for text in scrapes] == [["200.0"]] * SCRAPES


def test_the_admin_api_reports_its_created_links_and_latency_by_route_template(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack(SECURELINK_WORKERS=2)
    for _ in range(6):
        stack.create_link(targetUrl="https://example.com/c")
    stack.admin("GET", "/api/v1/links/NoSuchCode1")

    scrapes = [_fresh_connection_get(f"{stack.admin_url}/-/metrics").text for _ in range(6)]

    for text in scrapes:
        assert 'securelink_links_created_total{kind="url",service="admin_api"} 6.0' in text
        assert (
            'securelink_request_duration_seconds_count{route="/api/v1/links",service="admin_api",'
            'status="201"} 6.0' in text
        )
        assert 'route="/api/v1/links/{code}",service="admin_api",status="404"} 1.0' in text
        assert "NoSuchCode1" not in text


def _lines(stack: Stack) -> list[str]:
    return [line for line in stack.output().splitlines() if line and not line.startswith("-----")]


def test_json_logs_are_one_object_a_line_uvicorns_included(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack(
        SECURELINK_LOG_FORMAT="json", SECURELINK_LOG_LEVEL="info", SECURELINK_ACCESS_LOG=1
    )
    stack.admin("GET", "/api/v1/links/NoSuchCode1", headers={"X-Request-Id": "req-123"})
    stack.visit("GET", "/NoSuchCode2")
    stack.stop()

    records = [json.loads(line) for line in _lines(stack)]

    assert records, "info level logs uvicorn's start-up"
    assert all({"time", "level", "logger", "event"} <= set(record) for record in records)
    assert {record["logger"] for record in records} >= {"uvicorn.error", "uvicorn.access"}
    access = [record for record in records if record["logger"] == "uvicorn.access"]
    admin_404 = [record for record in access if record.get("path") == "/api/v1/links/NoSuchCode1"]
    assert [(r["method"], r["status"], r["request_id"]) for r in admin_404] == [
        ("GET", 404, "req-123")
    ]
    assert [r["status"] for r in access if r.get("path") == "/NoSuchCode2"] == [404]


def test_the_redirector_logs_nothing_for_successful_redirects_without_the_access_log(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack(SECURELINK_LOG_FORMAT="json", SECURELINK_LOG_LEVEL="info")
    code = stack.create_link(targetUrl="https://example.com/q")["shortCode"]
    before = len(stack.services[1].output().splitlines())

    statuses = [stack.visit("GET", f"/{code}").status_code for _ in range(50)]

    assert statuses == [302] * 50
    assert len(stack.services[1].output().splitlines()) == before
    assert code not in stack.output()
