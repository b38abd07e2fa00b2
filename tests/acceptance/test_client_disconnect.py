"""A client that leaves mid-body is no server error: no 500, no stack trace, service unharmed.

What shows the server is done with such a request is its latency sample: status 499, the
client closed the request (not the 500 of an answer nobody sent). The test waits for those,
then reads the log.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx

from tests.support.stacks import Stack
from tests.support.waiting import wait_until

DECLARED = 1000
SENT = b'{"targetUr'  # 10 of the 1000 bytes declared
BOUNDARY = "leaving"
PART = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nab'


def _send_part_of_a_body_and_leave(
    base_url: str, path: str, headers: dict[str, str], body: bytes = SENT
) -> None:
    url = urlsplit(base_url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n{head}Content-Length: {DECLARED}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(request + body)


def _left(service: str, route: str) -> str:
    return (
        f'securelink_request_duration_seconds_count{{route="{route}",service="{service}",'
        'status="499"} 1.0'
    )


def test_clients_leaving_mid_body_log_no_error_and_services_keep_answering(stack: Stack) -> None:
    code = stack.create_link(targetUrl="https://example.com/", password="pw")["shortCode"]
    json_body = {**stack.auth_headers, "Content-Type": "application/json"}
    multipart = {**stack.auth_headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    seen = len(stack.output())
    files = stack.data_dir / "files"
    files_before = sorted(path for path in files.rglob("*") if path.is_file())

    routes = ("/api/v1/links", "/api/v1/links/batch", "/api/v1/keys")
    for path in routes:
        _send_part_of_a_body_and_leave(stack.admin_url, path, json_body)
    multipart["Idempotency-Key"] = "upload-left-midway"
    _send_part_of_a_body_and_leave(stack.admin_url, "/api/v1/files", multipart, PART.encode())
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    _send_part_of_a_body_and_leave(stack.redirector_url, f"/{code}", form)

    expected = [
        *(_left("admin_api", route) for route in (*routes, "/api/v1/files")),
        _left("redirector", "/{code}"),
    ]

    def missing() -> list[str]:
        admin = httpx.get(f"{stack.admin_url}/-/metrics").text
        redirector = httpx.get(f"{stack.redirector_url}/-/metrics").text
        return [line for line in expected if line not in admin and line not in redirector]

    wait_until(lambda: missing() == [], message="a 499 sample for every request left mid-body")
    output = stack.output()[seen:]
    assert [line for line in output.splitlines() if "unhandled error" in line] == []
    assert "Traceback" not in output
    assert 'status="500"' not in httpx.get(f"{stack.admin_url}/-/metrics").text
    # The partial upload is gone.
    assert sorted(path for path in files.rglob("*") if path.is_file()) == files_before
    assert stack.create(targetUrl="https://example.com/after").status_code == 201
    retried = stack.admin(
        "POST", "/api/v1/files", files={"file": ("a", b"ab")},
        headers={"Idempotency-Key": "upload-left-midway"},
    )  # fmt: skip
    assert retried.status_code == 201  # the key was released: the retry uploads anew
    assert httpx.get(f"{stack.redirector_url}/-/healthz").status_code == 200
