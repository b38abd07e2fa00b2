"""The services as real processes: start-up, configuration errors, a first link end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.stacks import ROOT, Stack, StackLauncher


@pytest.mark.parametrize("module", ["redirector", "admin_api"])
def test_service_without_redis_url_stops_naming_the_variable(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECURELINK_")}

    result = subprocess.run(
        [sys.executable, "-m", module], env=env, cwd=ROOT, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "SECURELINK_REDIS_URL" in result.stderr


def test_both_services_answer_health_and_readiness(stack: Stack) -> None:
    for base_url in (stack.admin_url, stack.redirector_url):
        assert httpx.get(f"{base_url}/-/healthz").status_code == 200
        assert httpx.get(f"{base_url}/-/readyz").status_code == 200


def test_link_created_on_the_admin_api_redirects_on_the_redirector(stack: Stack) -> None:
    link = stack.create_link(targetUrl="https://example.com/a")

    response = stack.visit("GET", f"/{link['shortCode']}")

    assert link["shortUrl"] == f"{stack.redirector_url}/{link['shortCode']}"
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/a"


def test_admin_api_refuses_a_wrong_key(stack: Stack) -> None:
    refused = stack.admin(
        "POST",
        "/api/v1/links",
        json={"targetUrl": "https://example.com/"},
        headers={"Authorization": "Bearer wrong-key-wrong-key"},
    )
    missing = httpx.post(
        f"{stack.admin_url}/api/v1/links", json={"targetUrl": "https://a.example/"}
    )

    assert refused.status_code == 401
    assert missing.status_code == 401
    assert (
        refused.json()
        == missing.json()
        == {
            "status": 401,
            "error": "Unauthorized",
            "message": "Missing or invalid API key",
        }
    )


def test_stack_takes_environment_overrides(start_stack: Callable[..., Stack]) -> None:
    custom = start_stack(SECURELINK_PUBLIC_BASE_URL="https://sl.example")

    link = custom.create_link(targetUrl="https://example.com/b")

    assert link["shortUrl"] == f"https://sl.example/{link['shortCode']}"


def _metric_dirs(pid: int) -> list[Path]:
    """The metric directories holding files of this process (its pid names them)."""
    places = {Path(tempfile.gettempdir()), Path("/dev/shm")}
    return [
        directory
        for place in places
        if place.is_dir()
        for directory in place.glob("securelink-*-metrics-*")
        if any(directory.glob(f"*_{pid}.db"))
    ]


def test_a_stopped_service_leaves_no_metric_files_behind(redis_url: str, tmp_path: Path) -> None:
    launcher = StackLauncher(redis_url, tmp_path)
    stack = launcher()
    try:
        link = stack.create_link(targetUrl="https://example.com/metrics")
        assert stack.visit("GET", f"/{link['shortCode']}").status_code == 302
        pids = [service.process.pid for service in stack.services if service.process]
        assert len(pids) == 2
        for pid in pids:
            assert len(_metric_dirs(pid)) == 1, pid  # its files, in a directory of its own
    finally:
        launcher.stop_all()

    assert [service.process.returncode for service in stack.services if service.process] == [
        -signal.SIGTERM
    ] * 2
    for pid in pids:
        assert _metric_dirs(pid) == [], pid
