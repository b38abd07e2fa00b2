"""The redirector's fast lane (shared/fast_lane.py) on a real process, over raw sockets: the
exact bytes of a redirect, HTTP/1.0 and Connection: close, pipelined requests answered in
order with the app's own answers between them, each resolved once."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import redis

from shared.keys import Keys
from tests.support.stacks import Stack

TARGET = "https://example.com/fast/lane?x=1"
READ_TIMEOUT_SECONDS = 10.0
OK_METRIC = re.compile(r'securelink_resolutions_total\{outcome="ok",service="redirector"\} (\S+)')
REDIRECT_HEAD = (
    "HTTP/1.1 302 Found\r\n"
    "date: DATE\r\n"
    "x-content-type-options: nosniff\r\n"
    "referrer-policy: no-referrer\r\n"
    f"location: {TARGET}\r\n"
    "cache-control: private, no-store\r\n"
    "content-length: 0\r\n"
)


class Connection:
    """One raw client connection to the redirector."""

    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        self.socket = socket.create_connection((url.hostname, url.port), READ_TIMEOUT_SECONDS)
        self.buffer = b""

    def send(self, *requests: str) -> None:
        self.socket.sendall("".join(requests).encode())

    def response(self, method: str = "GET") -> str:
        """The next response, its date replaced by DATE; its body read by Content-Length."""
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        match = re.search(rb"\r\ncontent-length: (\d+)", head)
        length = int(match.group(1)) if match and method != "HEAD" else 0
        while len(self.buffer) < length:
            self._read()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        text = (head + b"\r\n\r\n" + body).decode()
        return re.sub(r"\r\ndate: [^\r]+\r\n", "\r\ndate: DATE\r\n", text)

    def closed_by_server(self) -> bool:
        return self.buffer == b"" and self.socket.recv(1) == b""

    def close(self) -> None:
        self.socket.close()

    def _read(self) -> None:
        data = self.socket.recv(65536)
        if not data:
            raise ConnectionError(f"closed by the server; unread: {self.buffer!r}")
        self.buffer += data


def request(method: str, path: str, *headers: str, version: str = "1.1") -> str:
    return "\r\n".join([f"{method} {path} HTTP/{version}", "Host: test", *headers, "", ""])


def ok_resolutions(stack: Stack) -> float:
    match = OK_METRIC.search(httpx.get(f"{stack.redirector_url}/-/metrics").text)
    return float(match.group(1)) if match else 0.0


def views(redis_sync: redis.Redis, stack: Stack, code: str) -> int:
    return int(redis_sync.hget(Keys(stack.prefix).link(code), "v") or 0)


def not_found_today(redis_sync: redis.Redis, stack: Stack) -> int:
    day = datetime.now(UTC).date().isoformat()
    return int(redis_sync.hget(Keys(stack.prefix).totals(day), "n") or 0)


def test_a_redirect_is_written_with_the_apps_exact_headers_in_order(stack: Stack) -> None:
    code = stack.create_link(targetUrl=TARGET)["shortCode"]
    connection = Connection(stack.redirector_url)

    connection.send(request("GET", f"/{code}"), request("HEAD", f"/{code}"))
    get, head = connection.response(), connection.response("HEAD")
    connection.close()

    assert get == REDIRECT_HEAD + "\r\n"
    assert head == REDIRECT_HEAD + "\r\n"


def test_http_1_0_and_connection_close_end_the_connection_after_the_redirect(
    stack: Stack, redis_sync: redis.Redis
) -> None:
    code = stack.create_link(targetUrl=TARGET)["shortCode"]

    for asked in (request("GET", f"/{code}", version="1.0"),
                  request("GET", f"/{code}", "Connection: close")):  # fmt: skip
        connection = Connection(stack.redirector_url)
        connection.send(asked)
        response = connection.response()
        closed = connection.closed_by_server()
        connection.close()

        assert response == REDIRECT_HEAD + "connection: close\r\n\r\n"
        assert closed

    assert views(redis_sync, stack, code) == 2


def test_pipelined_requests_are_answered_in_order_and_each_resolved_once(
    stack: Stack, redis_sync: redis.Redis
) -> None:
    code = stack.create_link(targetUrl=TARGET)["shortCode"]
    peeked = stack.create_link(targetUrl=TARGET)["shortCode"]
    served_before = ok_resolutions(stack)
    not_found_before = not_found_today(redis_sync, stack)
    connection = Connection(stack.redirector_url)

    connection.send(
        request("GET", f"/{code}"),
        request("GET", "/NoSuchCode42", "Accept: application/json"),  # the app's 404
        request("HEAD", f"/{peeked}"),
        request("GET", f"/{code}", "User-Agent: Slackbot 1.0"),  # a preview: the app's 302
        request("GET", f"/{code}", "Connection: close"),
    )
    responses = [connection.response(), connection.response(), connection.response("HEAD"),
                 connection.response(), connection.response()]  # fmt: skip
    closed = connection.closed_by_server()
    connection.close()

    assert responses[0] == REDIRECT_HEAD + "\r\n"
    assert responses[1].startswith("HTTP/1.1 404 Not Found\r\n")
    assert responses[1].endswith(
        '\r\n\r\n{"status":404,"error":"Not Found","message":"No link has this code."}'
    )
    assert responses[2] == REDIRECT_HEAD + "\r\n"
    assert responses[3].startswith("HTTP/1.1 302 Found\r\n")
    assert f"\r\nlocation: {TARGET}\r\n" in responses[3]
    assert responses[4] == REDIRECT_HEAD + "connection: close\r\n\r\n"
    assert closed
    assert views(redis_sync, stack, code) == 2  # the preview counted none
    assert views(redis_sync, stack, peeked) == 0
    assert not_found_today(redis_sync, stack) == not_found_before + 1  # one call, not two
    assert ok_resolutions(stack) == served_before + 3  # counted before each was written
