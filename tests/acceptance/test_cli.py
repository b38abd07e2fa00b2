"""The `securelink` command, run as a real process against real services."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.redis_server import free_port
from tests.support.stacks import Stack

SECURELINK = str(Path(sys.executable).parent / "securelink")


def run(
    stack: Stack | None, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", **(env or {})}
    if stack is not None:
        environment.setdefault("SECURELINK_ADMIN_URL", stack.admin_url)
        environment.setdefault("SECURELINK_ADMIN_KEY", stack.admin_key)
    return subprocess.run(
        [SECURELINK, *args], input=stdin, env=environment, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def run_json(stack: Stack, *args: str, stdin: str = "") -> Any:
    result = run(stack, "--json", *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_create_then_get_shows_the_same_link(stack: Stack) -> None:
    created = run_json(stack, "create", "https://example.com/cli", "--max-views", "3")

    shown = run_json(stack, "get", created["shortCode"])

    assert created["targetUrl"] == "https://example.com/cli"
    assert (shown["shortCode"], shown["maxViews"], shown["status"]) == (
        created["shortCode"], 3, "active",
    )  # fmt: skip
    assert stack.visit("GET", f"/{created['shortCode']}").status_code == 302


def test_create_prints_a_readable_table_without_json(stack: Stack) -> None:
    result = run(stack, "create", "https://example.com/table", "--code", "cli-table-1")

    assert result.returncode == 0, result.stderr
    assert "cli-table-1" in result.stdout
    assert "https://example.com/table" in result.stdout
    assert "active" in result.stdout


def test_expiry_and_custom_code_reach_the_api(stack: Stack) -> None:
    link = run_json(
        stack, "create", "https://example.com/o", "--expires-in", "2h", "--code", "cli-opts-1"
    )

    assert link["shortCode"] == "cli-opts-1"
    assert link["expiresAt"] is not None


def test_password_comes_from_stdin_never_from_an_argument(stack: Stack) -> None:
    link = run_json(stack, "create", "https://example.com/p", "--password-stdin", stdin="s3cret\n")

    wrong = stack.visit("POST", f"/{link['shortCode']}", data={"password": "nope"})
    right = stack.visit("POST", f"/{link['shortCode']}", data={"password": "s3cret"})

    assert link["passwordProtected"] is True
    assert (wrong.status_code, right.status_code) == (401, 303)


def test_revoke_ends_the_link(stack: Stack) -> None:
    code = run_json(stack, "create", "https://example.com/r")["shortCode"]

    revoked = run_json(stack, "revoke", code)

    assert revoked["status"] == "revoked"
    assert stack.visit("GET", f"/{code}").status_code == 410


def test_an_unknown_code_exits_1_with_the_apis_message_and_a_hint(stack: Stack) -> None:
    result = run(stack, "get", "NoSuchCode42")

    assert result.returncode == 1
    assert "404 Not Found: Link not found" in result.stderr
    assert "hint: " in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_refused_create_lists_the_field_errors_and_exits_1(stack: Stack) -> None:
    result = run(stack, "create", "nope")

    assert result.returncode == 1
    assert "400 Bad Request: Validation failed" in result.stderr
    assert "targetUrl: must be a valid URL" in result.stderr


def test_a_wrong_key_exits_1_naming_the_variable(stack: Stack) -> None:
    result = run(stack, "get", "abcd", env={"SECURELINK_ADMIN_KEY": "wrong"})

    assert result.returncode == 1
    assert "401 Unauthorized: Missing or invalid API key" in result.stderr
    assert "SECURELINK_ADMIN_KEY" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("create",),
        (
            "create",
            "https://a.example/",
            "--expires-in",
            "2h",
            "--expires-at",
            "2030-01-01T00:00:00Z",
        ),
        ("create", "https://a.example/", "--expires-in", "soon"),
        ("create", "https://a.example/", "--max-views", "0"),
        ("nosuchcommand",),
        ("revoke",),
        ("delete", "abcd", "--tag", "t"),
        ("stats", "abcd", "--days", "91"),
    ],
)
def test_bad_usage_exits_2_before_any_request(stack: Stack, args: tuple[str, ...]) -> None:
    result = run(stack, *args)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_key_is_bad_usage() -> None:
    result = run(None, "get", "abcd", env={"SECURELINK_ADMIN_URL": "http://127.0.0.1:9"})

    assert result.returncode == 2
    assert "SECURELINK_ADMIN_KEY is not set" in result.stderr


def test_a_service_that_is_not_there_exits_3() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    result = run(
        None, "get", "abcd", env={"SECURELINK_ADMIN_URL": url, "SECURELINK_ADMIN_KEY": "k"}
    )

    assert result.returncode == 3
    assert f"cannot reach the admin API at {url}" in result.stderr
    assert "SECURELINK_ADMIN_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_storage_down_exits_3(start_stack: Any) -> None:
    stack = start_stack(SECURELINK_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")

    result = run(stack, "create", "https://example.com/down")

    assert result.returncode == 3
    assert "503 Service Unavailable: Storage is unavailable, retry shortly" in result.stderr


def test_stats_draws_views_per_day_and_prints_the_json(stack: Stack) -> None:
    code = run_json(stack, "create", "https://example.com/s")["shortCode"]
    for _ in range(3):
        assert stack.visit("GET", f"/{code}").status_code == 302

    chart = run(stack, "stats", code, "--days", "3")
    data = run_json(stack, "stats", code, "--days", "3")

    assert chart.returncode == 0, chart.stderr
    assert data["views"] == 3
    assert len(data["days"]) == 3
    lines = chart.stdout.splitlines()
    for day in data["days"]:  # one bar a day, oldest first, ending with its views
        line = next(line for line in lines if line.startswith(day["date"] + " "))
        assert line.endswith(f" {day['views']}")


def test_upload_makes_a_download_link(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(b"x" * 300_000)

    link = run_json(stack, "upload", str(path), "--max-views", "2")
    download = stack.visit("GET", f"/{link['shortCode']}")

    assert (link["kind"], link["fileName"], link["fileSize"]) == ("file", "report.txt", 300_000)
    assert download.content == b"x" * 300_000


def test_upload_is_quiet_when_piped(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "quiet.bin"
    path.write_bytes(b"y" * 1000)

    result = run(stack, "upload", str(path))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


async def _statuses(base_url: str, codes: list[str]) -> list[int]:
    limits = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def one(code: str) -> int:
            async with limits:
                return (await client.get(f"/{code}")).status_code

        return list(await asyncio.gather(*(one(code) for code in codes)))


def test_seed_writes_5000_codes_that_all_redirect(stack: Stack, tmp_path: Path) -> None:
    out = tmp_path / "codes.txt"

    result = run(stack, "seed", "--count", "5000", "--out", str(out))

    codes = out.read_text().splitlines()
    assert result.returncode == 0, result.stderr
    assert len(codes) == len(set(codes)) == 5000
    assert result.stderr == "created 5000 links; codes in " + str(out) + "\n"  # no progress bar
    assert asyncio.run(_statuses(stack.redirector_url, codes)) == [302] * 5000


def test_seed_without_out_prints_the_codes_and_json_a_summary(stack: Stack) -> None:
    plain = run(stack, "seed", "--count", "3", "--max-views", "1")
    summary = run_json(stack, "seed", "--count", "2", "--out", "/dev/null")

    codes = plain.stdout.splitlines()
    assert plain.returncode == 0, plain.stderr
    assert len(codes) == 3
    assert run_json(stack, "get", codes[0])["maxViews"] == 1
    assert summary == {"created": 2, "refused": 0, "out": "/dev/null"}


def test_named_keys_are_created_listed_and_disabled(stack: Stack) -> None:
    made = run_json(stack, "keys", "create", "cli-ci", "--read-only")

    listed = run_json(stack, "keys", "list")
    disabled = run(stack, "keys", "disable", made["id"])
    refused = run(stack, "create", "https://a.example/", env={"SECURELINK_ADMIN_KEY": made["key"]})

    assert made["readOnly"] is True
    assert made["id"] in [item["id"] for item in listed["items"]]
    assert disabled.returncode == 0, disabled.stderr
    assert refused.returncode == 1
    assert "401 Unauthorized" in refused.stderr
