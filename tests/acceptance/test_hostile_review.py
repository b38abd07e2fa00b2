"""Issue 13, "Hardening": each finding of the hostile review, reproduced against real processes.

Sections (one class each) follow the issue's numbering; each test failed before its fix.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.stacks import Stack, StackLauncher

PASSWORD = "Tr0ub4dor&3-hostile-review"
TARGET = "https://target.example/reviewed"
JSON = {"Accept": "application/json"}


def protected_code(stack: Stack) -> str:
    code: str = stack.create_link(targetUrl=TARGET, password=PASSWORD)["shortCode"]
    return code


def guess(client: httpx.Client, code: str, password: str, forwarded: str | None) -> httpx.Response:
    headers = dict(JSON)
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return client.post(f"/{code}", data={"password": password}, headers=headers)


# --- 1. The password limit's client identity: SECURELINK_TRUSTED_PROXIES only -------------


class TestClientIdentity:
    def test_rotating_forwarded_for_from_an_untrusted_peer_makes_no_new_clients(
        self, stack: Stack
    ) -> None:
        code = protected_code(stack)

        with httpx.Client(base_url=stack.redirector_url, timeout=30) as client:
            statuses = [
                guess(client, code, f"wrong{i}", f"198.51.100.{i}").status_code for i in range(8)
            ]

        assert statuses == [401] * 5 + [429] * 3

    def test_behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client(
        self, start_stack: Callable[..., Stack]
    ) -> None:
        stack = start_stack(SECURELINK_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8")
        code = protected_code(stack)

        with httpx.Client(base_url=stack.redirector_url, timeout=30) as client:
            # The client says it is 192.0.2.1; the proxies saw 203.0.113.5 and then 10.1.1.1.
            chain = "192.0.2.1, 203.0.113.5, 10.1.1.1"
            first = [guess(client, code, f"a{i}", chain).status_code for i in range(6)]
            spoofed = guess(client, code, "b", "192.0.2.77, 203.0.113.5").status_code
            other = guess(client, code, "c", "192.0.2.1, 203.0.113.6").status_code

        assert first == [401] * 5 + [429]
        assert spoofed == 429  # the left part is the client's own say: still 203.0.113.5
        assert other == 401

    def test_garbage_in_forwarded_for_is_never_an_identity(
        self, start_stack: Callable[..., Stack]
    ) -> None:
        stack = start_stack(SECURELINK_TRUSTED_PROXIES="127.0.0.1")
        code = protected_code(stack)

        with httpx.Client(base_url=stack.redirector_url, timeout=30) as client:
            statuses = [guess(client, code, f"w{i}", f"attacker-{i}").status_code for i in range(6)]
            more = [guess(client, code, "x", bad).status_code for bad in ("", "::zz", "1.2.3")]

        assert statuses == [401] * 5 + [429]
        assert more == [429] * 3

    def test_a_malformed_trusted_proxies_value_stops_the_start_naming_it(
        self, stack: Stack
    ) -> None:
        import subprocess
        import sys

        env = {**stack.env, "SECURELINK_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}
        done = subprocess.run(
            [sys.executable, "-m", "redirector"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert done.returncode == 2
        assert "SECURELINK_TRUSTED_PROXIES" in done.stderr
        assert "'proxy.local' is not an IP address or CIDR network" in done.stderr


# --- 2. The per-link guard: a token bucket, no lock-out of the rightful user ---------------


class TestLinkGuard:
    def test_a_flood_of_22_clients_keeps_the_rightful_user_out_for_seconds_only(
        self, start_stack: Callable[..., Stack]
    ) -> None:
        stack = start_stack(SECURELINK_TRUSTED_PROXIES="127.0.0.1")
        code = protected_code(stack)

        with httpx.Client(base_url=stack.redirector_url, timeout=30) as client:
            flood_began = time.monotonic()
            statuses = [
                guess(client, code, f"g{n}-{i}", f"10.0.{n}.1").status_code
                for n in range(22)
                for i in range(5)
            ]
            flood_over = time.monotonic()
            answers = []
            while time.monotonic() - flood_over < 30:
                answer = guess(client, code, PASSWORD, "192.0.2.99")
                answers.append(answer.status_code)
                if answer.status_code != 429:
                    break
                assert 1 <= int(answer.headers["retry-after"]) <= 3
                time.sleep(int(answer.headers["retry-after"]))
            waited = time.monotonic() - flood_over

        # Never more checks than the bucket holds plus what it refilled meanwhile (one per 3 s).
        refilled = int((flood_over - flood_began) / 3) + 1
        assert set(statuses) == {401, 429}
        assert 20 <= statuses.count(401) <= 20 + refilled
        assert answers[-1] == 303
        assert waited < 30


# --- 3. Slow and greedy clients: head deadline, body rate, connection cap ------------------

SERVICES = ["admin", "redirector"]
SHORT_LIMITS = {
    "SECURELINK_HEAD_TIMEOUT_SECONDS": 1,
    "SECURELINK_BODY_WINDOW_SECONDS": 1,
    "SECURELINK_BODY_MIN_BYTES": 1024,
}
GENEROUS = 30.0  # seconds: the limits above are 1 s; only "closed at all" is asserted


def address(stack: Stack, service: str) -> tuple[str, int]:
    url = urlsplit(stack.admin_url if service == "admin" else stack.redirector_url)
    assert url.hostname and url.port
    return url.hostname, url.port


def read_until_closed(sock: socket.socket, deadline: float) -> tuple[bytes, bool]:
    """Everything the server sends, and whether it closed before the deadline."""
    answer = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return answer, False
        except ConnectionResetError:
            return answer, True
        if not chunk:
            return answer, True
        answer += chunk
    return answer, False


def read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length, however the server splits its writes."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture(scope="module")
def short(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose head deadline and body window are 1 s."""
    launcher = StackLauncher(redis_url, tmp_path_factory.mktemp("short"))
    yield launcher(**SHORT_LIMITS)
    launcher.stop_all()


class TestSlowClients:
    @pytest.mark.parametrize("service", SERVICES)
    def test_half_a_head_then_silence_is_closed_by_the_deadline(
        self, short: Stack, service: str
    ) -> None:
        with socket.create_connection(address(short, service), timeout=10) as sock:
            sock.sendall(b"GET /-/healthz HTTP/1.1\r\nHost: x\r\nX-Half: ")
            answer, closed = read_until_closed(sock, time.monotonic() + GENEROUS)

        assert closed
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert b"\r\nx-content-type-options: nosniff\r\n" in answer
        assert answer.endswith(b"\r\n\r\nRequest head took too long")

    @pytest.mark.parametrize("service", SERVICES)
    def test_half_a_second_head_on_a_kept_alive_connection_is_closed_by_the_deadline(
        self, short: Stack, service: str
    ) -> None:
        # The first request arrives whole (it starts no timer of its own); the second one's
        # head begins a read that leaves it incomplete, and that read starts its deadline.
        with socket.create_connection(address(short, service), timeout=10) as sock:
            sock.sendall(b"GET /-/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            first = read_response(sock)
            sock.sendall(b"GET /-/healthz HTTP/1.1\r\nHost: x\r\nX-Half: ")
            answer, closed = read_until_closed(sock, time.monotonic() + GENEROUS)

        assert first.startswith(b"HTTP/1.1 200 ")
        assert closed
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert answer.endswith(b"\r\n\r\nRequest head took too long")

    @pytest.mark.parametrize("service", SERVICES)
    def test_a_silent_connection_is_closed_by_the_deadline(
        self, short: Stack, service: str
    ) -> None:
        with socket.create_connection(address(short, service), timeout=10) as sock:
            answer, closed = read_until_closed(sock, time.monotonic() + GENEROUS)

        assert closed
        assert answer.startswith(b"HTTP/1.1 408 ")

    @pytest.mark.parametrize("service", SERVICES)
    def test_a_body_of_one_byte_a_while_is_closed(self, short: Stack, service: str) -> None:
        path = "/api/v1/links" if service == "admin" else "/abcdefgh"
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n"
        ).encode()
        deadline = time.monotonic() + GENEROUS
        closed = False
        with socket.create_connection(address(short, service), timeout=10) as sock:
            sock.sendall(head)
            sock.settimeout(0.3)
            while time.monotonic() < deadline and not closed:
                try:
                    sock.sendall(b" ")
                    closed = sock.recv(65536) == b""
                except TimeoutError:
                    continue
                except OSError:
                    closed = True

        assert closed

    def test_a_body_that_keeps_coming_is_not_cut(self, short: Stack) -> None:
        # About 60 KB in 2 KiB pieces over 1.5 s (several 1 s windows): above the minimum rate.
        body = b'{"targetUrl": "https://example.com/steady"' + b" " * 58_000 + b"}"

        def pieces() -> Iterator[bytes]:
            for start in range(0, len(body), 2048):
                time.sleep(0.05)
                yield body[start : start + 2048]

        with httpx.Client(base_url=short.admin_url, timeout=30) as client:
            response = client.post(
                "/api/v1/links",
                content=pieces(),
                headers={**short.auth_headers, "Content-Type": "application/json"},
            )

        assert response.status_code == 201

    @pytest.mark.parametrize("service", SERVICES)
    def test_past_the_connection_cap_a_new_connection_gets_503(
        self, start_stack: Callable[..., Stack], service: str
    ) -> None:
        cap = 5
        stack = start_stack(SECURELINK_MAX_CONNECTIONS=cap)
        where = address(stack, service)
        held = [socket.create_connection(where, timeout=10) for _ in range(cap)]
        try:
            for sock in held[:1]:  # the server has accepted them all once it answers this one
                sock.sendall(b"GET /-/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            with socket.create_connection(where, timeout=10) as extra:
                answer, closed = read_until_closed(extra, time.monotonic() + GENEROUS)
        finally:
            for sock in held:
                sock.close()

        assert closed
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert answer.endswith(b"\r\n\r\nToo many connections")
        deadline = time.monotonic() + GENEROUS
        while True:  # the closed ones are let go: a new client is served again
            try:
                healthy = httpx.get(f"http://{where[0]}:{where[1]}/-/healthz", timeout=10)
                if healthy.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)

    def test_the_open_file_limit_is_raised_to_the_hard_limit(self, short: Stack) -> None:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        for service in short.services:
            assert service.process is not None
            limits = Path(f"/proc/{service.process.pid}/limits").read_text()
            line = next(row for row in limits.splitlines() if row.startswith("Max open files"))
            soft = line.split()[3]
            assert soft == ("unlimited" if hard == resource.RLIM_INFINITY else str(hard))


# --- 9 (part). uvicorn's own 400 for a request it cannot parse ----------------------------


class TestUnparsableRequest:
    @pytest.mark.parametrize("service", SERVICES)
    def test_an_invalid_request_line_gets_400_with_our_headers_and_one_log_line(
        self, start_stack: Callable[..., Stack], service: str
    ) -> None:
        stack = start_stack()
        answers = []
        for _ in range(20):
            with socket.create_connection(address(stack, service), timeout=10) as sock:
                sock.sendall(b"\x16\x03\x01 garbage \r\n\r\n")
                answers.append(read_until_closed(sock, time.monotonic() + GENEROUS)[0])
        stack.stop()

        for answer in answers:
            assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
            assert b"\r\nx-content-type-options: nosniff\r\n" in answer
            assert b"\r\nreferrer-policy: no-referrer\r\n" in answer
        assert stack.output().count("Invalid HTTP request received.") == 1


# --- 5. Multipart bodies the parser refuses: 400, never 500 -------------------------------


class TestMultipartErrors:
    LONG_BOUNDARY = "b" * 300

    def body(self, boundary: str) -> bytes:
        return (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="password"\r\n\r\n'
            f"{PASSWORD}\r\n--{boundary}--\r\n"
        ).encode()

    def test_a_boundary_over_256_characters_on_an_upload_answers_400(self, stack: Stack) -> None:
        boundary = self.LONG_BOUNDARY
        response = stack.admin(
            "POST",
            "/api/v1/files",
            content=self.body(boundary),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

        assert response.status_code == 400
        assert response.json() == {
            "status": 400,
            "error": "Bad Request",
            "message": "Malformed multipart/form-data body",
        }

    @pytest.mark.parametrize("boundary", [LONG_BOUNDARY, ""], ids=["long", "empty"])
    def test_a_password_form_the_parser_refuses_answers_400(
        self, stack: Stack, boundary: str
    ) -> None:
        code = protected_code(stack)
        response = stack.visit(
            "POST",
            f"/{code}",
            content=self.body(boundary or "x"),
            headers={
                "Content-Type": f'multipart/form-data; boundary="{boundary}"',
                **JSON,
            },
        )

        assert response.status_code == 400
        assert response.json()["message"] == "Malformed request body"


# --- 9 (part). Smaller ones: the password POST body cap -----------------------------------


class TestPasswordBodyCap:
    def test_a_multipart_password_body_with_a_huge_epilogue_answers_413(self, stack: Stack) -> None:
        code = protected_code(stack)
        body = (
            "--xyz\r\n"
            'Content-Disposition: form-data; name="password"\r\n\r\n'
            f"{PASSWORD}\r\n--xyz--\r\n"
        ).encode() + b"e" * (1024 * 1024)

        response = stack.visit(
            "POST",
            f"/{code}",
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=xyz", **JSON},
        )

        assert response.status_code == 413
        assert views_of(stack, code) == 0

    def test_a_small_multipart_password_form_still_opens_the_link(self, stack: Stack) -> None:
        code = protected_code(stack)

        response = stack.visit("POST", f"/{code}", files={"password": (None, PASSWORD)})

        assert response.status_code == 303
        assert response.headers["location"] == TARGET


def views_of(stack: Stack, code: str) -> int:
    views: int = stack.admin("GET", f"/api/v1/links/{code}").json()["views"]
    return views
