"""Issue 13, "Hardening": each finding of the hostile review, reproduced against real processes.

Sections (one class each) follow the issue's numbering; each test failed before its fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.acceptance.stacks import Stack

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
