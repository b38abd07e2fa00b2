"""A client that leaves mid-body is no server error: no 500, no stack trace, service unharmed."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx

from tests.support.stacks import Stack

DECLARED = 1000
SENT = b'{"targetUr'  # 10 of the 1000 bytes declared
LOG_WAIT_SECONDS = 1.5


def _send_part_of_a_body_and_leave(base_url: str, path: str, headers: dict[str, str]) -> None:
    url = urlsplit(base_url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n{head}Content-Length: {DECLARED}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(request + SENT)
        time.sleep(0.1)  # let the handler start reading the body before the connection goes


def _unhandled_errors_after(stack: Stack, seen: int) -> list[str]:
    """Lines logging an unhandled error that showed up within the wait."""
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while True:
        lines = [line for line in stack.output()[seen:].splitlines() if "unhandled error" in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_clients_leaving_mid_body_log_no_error_and_services_keep_answering(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/", password="pw")["shortCode"]
    json_body = {**stack.auth_headers, "Content-Type": "application/json"}
    seen = len(stack.output())

    for path in ("/api/v1/links", "/api/v1/links/batch", "/api/v1/keys"):
        _send_part_of_a_body_and_leave(stack.admin_url, path, json_body)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    _send_part_of_a_body_and_leave(stack.redirector_url, f"/{code}", form)

    assert _unhandled_errors_after(stack, seen) == []
    assert "Traceback" not in stack.output()[seen:]
    assert stack.create(targetUrl="https://example.com/after").status_code == 201
    assert httpx.get(f"{stack.redirector_url}/-/healthz").status_code == 200
