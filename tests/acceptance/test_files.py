"""File links across real processes: upload, download, races, cut-off uploads, the sweeper."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import redis

from shared.keys import Keys
from tests.support.stacks import Stack
from tests.support.uploads import CONTENT_TYPE, FilePart, LargeUpload, multipart
from tests.support.waiting import wait_until

MIB = 1024 * 1024


def files_dir(stack: Stack) -> Path:
    return Path(stack.env["SECURELINK_DATA_DIR"]) / "files"


def stored_names(stack: Stack) -> set[str]:
    directory = files_dir(stack)
    return {path.name for path in directory.iterdir()} if directory.exists() else set()


def upload(stack: Stack, *parts: FilePart | tuple[str, str]) -> httpx.Response:
    return stack.admin(
        "POST", "/api/v1/files", content=multipart(*parts), headers={"Content-Type": CONTENT_TYPE}
    )


def upload_link(stack: Stack, *parts: FilePart | tuple[str, str]) -> dict[str, Any]:
    response = upload(stack, *parts)
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


def memory_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak since start) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def pid_of(stack: Stack, module: str) -> int:
    (service,) = [s for s in stack.services if s.module == module]
    assert service.process is not None
    return service.process.pid


def test_uploaded_file_downloads_with_its_bytes_name_and_type(stack: Stack) -> None:
    content = os.urandom(300_000)
    link = upload_link(
        stack,
        FilePart(content, "Quartalszahlen Übersicht 2026 📊.xlsx", "application/vnd.ms-excel"),
    )

    response = stack.visit("GET", f"/{link['shortCode']}")

    assert link["shortUrl"] == f"{stack.redirector_url}/{link['shortCode']}"
    assert link["fileName"] == "Quartalszahlen Übersicht 2026 📊.xlsx"
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-length"] == "300000"
    assert response.headers["content-type"] == "application/vnd.ms-excel"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == (
        'attachment; filename="Quartalszahlen Ubersicht 2026 _.xlsx"; '
        "filename*=UTF-8''Quartalszahlen%20%C3%9Cbersicht%202026%20%F0%9F%93%8A.xlsx"
    )


def test_httpx_multipart_upload_with_a_unicode_name_round_trips(stack: Stack) -> None:
    files = {"file": ("отчёт.txt", b"privet", "text/plain")}

    response = stack.admin("POST", "/api/v1/files", files=files, data={"maxViews": "2"})
    download = stack.visit("GET", f"/{response.json()['shortCode']}")

    assert response.status_code == 201, response.text
    assert response.json()["fileName"] == "отчёт.txt"
    assert response.json()["maxViews"] == 2
    assert download.content == b"privet"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"download.txt\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt"
    )


def test_head_on_a_file_link_counts_nothing(stack: Stack) -> None:
    link = upload_link(stack, FilePart(b"once only"), ("maxViews", "1"))

    heads = [stack.visit("HEAD", f"/{link['shortCode']}") for _ in range(3)]
    after = stack.admin("GET", f"/api/v1/links/{link['shortCode']}").json()

    assert [head.status_code for head in heads] == [200, 200, 200]
    assert heads[0].headers["content-length"] == "9"
    assert after["views"] == 0
    assert stack.visit("GET", f"/{link['shortCode']}").content == b"once only"


def test_password_protected_file_comes_back_from_the_successful_post(stack: Stack) -> None:
    link = upload_link(stack, FilePart(b"secret bytes", "s.bin"), ("password", "hunter22"))

    page = stack.visit("GET", f"/{link['shortCode']}")
    wrong = stack.visit("POST", f"/{link['shortCode']}", data={"password": "nope"})
    right = stack.visit("POST", f"/{link['shortCode']}", data={"password": "hunter22"})

    assert page.status_code == 200 and b"secret bytes" not in page.content
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert right.content == b"secret bytes"
    assert right.headers["content-disposition"] == 'attachment; filename="s.bin"'


def test_concurrent_downloads_of_a_single_view_file_give_the_bytes_exactly_once(
    stack: Stack,
) -> None:
    content = os.urandom(2 * MIB)
    link = upload_link(stack, FilePart(content, "race.bin"), ("maxViews", "1"))
    clients = 16
    barrier = threading.Barrier(clients)
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def download() -> None:
        with httpx.Client(base_url=stack.redirector_url, timeout=30) as client:
            barrier.wait()
            response = client.get(f"/{link['shortCode']}")
        with lock:
            results.append((response.status_code, response.content))

    threads = [threading.Thread(target=download) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [body for status, body in results if status == 200]
    assert len(results) == clients
    assert len(winners) == 1
    assert winners[0] == content
    assert sorted(status for status, _ in results) == [200] + [410] * (clients - 1)


def test_100_mib_upload_and_download_stream_with_bounded_memory(stack: Stack) -> None:
    big = LargeUpload(size=100 * MIB, filename="big.bin")  # exactly the default limit
    admin_pid, redirector_pid = pid_of(stack, "admin_api"), pid_of(stack, "redirector")
    admin_before = memory_kib(admin_pid, "VmRSS")
    redirector_before = memory_kib(redirector_pid, "VmRSS")

    started = time.monotonic()
    response = stack.admin(
        "POST",
        "/api/v1/files",
        content=big.body(),
        headers={"Content-Type": CONTENT_TYPE, "Content-Length": str(big.content_length)},
    )
    upload_seconds = time.monotonic() - started
    admin_peak = memory_kib(admin_pid, "VmHWM")
    assert response.status_code == 201, response.text
    link = response.json()
    digest = hashlib.sha256()
    started = time.monotonic()
    with (
        httpx.Client(base_url=stack.redirector_url, timeout=60) as client,
        client.stream("GET", f"/{link['shortCode']}") as download,
    ):
        for chunk in download.iter_bytes():
            digest.update(chunk)
        status, length = download.status_code, download.headers["content-length"]
    download_seconds = time.monotonic() - started
    redirector_peak = memory_kib(redirector_pid, "VmHWM")

    print(
        f"\n100 MiB: upload {upload_seconds:.2f} s, download {download_seconds:.2f} s; "
        f"peak RSS growth admin {(admin_peak - admin_before) / 1024:.1f} MiB, "
        f"redirector {(redirector_peak - redirector_before) / 1024:.1f} MiB"
    )
    assert link["fileSize"] == 100 * MIB
    assert status == 200
    assert length == str(100 * MIB)
    assert digest.hexdigest() == big.sha256()
    assert admin_peak - admin_before < 32 * 1024, "the upload was held in memory"
    assert redirector_peak - redirector_before < 32 * 1024, "the download was held in memory"


def test_upload_over_the_limit_is_413_and_leaves_no_file(
    start_stack: Callable[..., Stack],
) -> None:
    small = start_stack(SECURELINK_MAX_UPLOAD_BYTES=1000)
    body = multipart(FilePart(b"z" * 5000))

    declared = upload(small, FilePart(b"z" * 100_000))
    streamed = small.admin(
        "POST",
        "/api/v1/files",
        content=iter([body[:3000], body[3000:]]),  # chunked: no Content-Length to go by
        headers={"Content-Type": CONTENT_TYPE},
    )
    fits = upload(small, FilePart(b"z" * 1000))

    assert declared.status_code == streamed.status_code == 413
    assert streamed.json() == {
        "status": 413,
        "error": "Request Entity Too Large",
        "message": "File exceeds 1000 bytes",
    }
    assert fits.status_code == 201
    assert len(stored_names(small)) == 1


def test_upload_cut_off_in_the_middle_leaves_no_file_and_the_server_fine(stack: Stack) -> None:
    before = stored_names(stack)
    body = multipart(FilePart(os.urandom(4 * MIB)))
    url = urlsplit(stack.admin_url)
    head = (
        f"POST /api/v1/files HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {stack.admin_key}\r\nContent-Type: {CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()

    with socket.create_connection((url.hostname, url.port)) as connection:
        connection.sendall(head + body[: 2 * MIB])
        wait_until(lambda: len(stored_names(stack) - before) == 1, message="upload not started")
    # The connection is closed with half the body sent.

    wait_until(lambda: stored_names(stack) == before, message="a partial file was left")
    assert upload(stack, FilePart(b"still fine")).status_code == 201
    assert httpx.get(f"{stack.admin_url}/-/healthz").status_code == 200


def test_files_go_away_with_their_links_and_no_orphan_is_left(
    start_stack: Callable[..., Stack], redis_sync: redis.Redis
) -> None:
    # Nothing can end before the count of 5 below: the expiry is 5 s away, the retention and
    # the orphan's grace 3 s, ten times what the steps in between take on a busy machine.
    short = start_stack(
        SECURELINK_RETENTION_SECONDS=3,
        SECURELINK_FILE_SWEEP_SECONDS=1,
        SECURELINK_FILE_GRACE_SECONDS=3,
    )
    soon = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    revoked = upload_link(short, FilePart(b"revoke me"))
    expiring = upload_link(short, FilePart(b"expire me"), ("expiresAt", soon))
    exhausted = upload_link(short, FilePart(b"view me once"), ("maxViews", "1"))
    kept = upload_link(short, FilePart(b"keep me"))
    assert short.visit("GET", f"/{exhausted['shortCode']}").status_code == 200
    assert short.admin("POST", f"/api/v1/links/{revoked['shortCode']}/revoke").status_code == 200
    directory = files_dir(short)
    orphan = directory / ("ab" * 16)  # what a crash between the write and the link leaves
    orphan.write_bytes(b"orphan")  # older than the grace 3 s from now
    assert len(stored_names(short)) == 5  # the revoked file stays for the retention

    wait_until(lambda: len(stored_names(short)) == 1, message="the swept files")

    for gone in (revoked, expiring, exhausted):
        assert short.admin("GET", f"/api/v1/links/{gone['shortCode']}").status_code == 404
    assert short.visit("GET", f"/{kept['shortCode']}").content == b"keep me"
    tracked = cast(list[bytes], redis_sync.zrange(Keys(short.prefix).files, 0, -1))
    assert [member.decode().split(":")[1] for member in tracked] == [kept["shortCode"]]
    (left,) = stored_names(short)
    assert tracked[0].decode().split(":")[0] == left
