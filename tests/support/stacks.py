"""Real `python -m admin_api` and `python -m redirector` processes, driven over HTTP."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.processes import ROOT, NotReady, Process, ProcessExited, stop_all, wait_until_ready
from devtools.redis_server import free_port

__all__ = ["ROOT", "Service", "Stack", "StackLauncher"]
HEALTH_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass
class Service:
    """One service process; its stdout and stderr go to a file so a full pipe never blocks it."""

    name: str
    module: str
    url: str
    log_path: Path
    supervised: Process | None = None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return None if self.supervised is None else self.supervised.popen

    def start(self, env: dict[str, str]) -> None:
        argv = [sys.executable, "-m", self.module]
        self.supervised = Process(name=self.name, argv=argv, env=env, log_path=self.log_path)
        self.supervised.start()

    def output(self) -> str:
        return "" if self.supervised is None else self.supervised.output()

    def stop(self) -> None:
        """SIGTERM (a graceful uvicorn shutdown), then SIGKILL if it hangs."""
        if self.supervised is not None:
            self.supervised.stop(STOP_TIMEOUT_SECONDS)


@dataclass
class Stack:
    """A running pair of services with their own key prefix, admin key and data directory."""

    admin_url: str
    redirector_url: str
    admin_key: str
    prefix: str
    env: dict[str, str] = field(repr=False)
    data_dir: Path
    services: list[Service] = field(default_factory=list, repr=False)

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An admin API request with the Bearer header (unless headers say otherwise)."""
        headers = {**self.auth_headers, **kwargs.pop("headers", {})}
        with httpx.Client(base_url=self.admin_url, timeout=30) as client:
            return client.request(method, path, headers=headers, **kwargs)

    def create(self, **fields: Any) -> httpx.Response:
        """POST /api/v1/links with the given wire fields (targetUrl=..., maxViews=...)."""
        return self.admin("POST", "/api/v1/links", json=fields)

    def create_link(self, **fields: Any) -> dict[str, Any]:
        """Create a link that must succeed; its Link object."""
        response = self.create(**fields)
        assert response.status_code == 201, response.text
        link: dict[str, Any] = response.json()
        return link

    def visit(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A redirector request; redirects are returned, not followed."""
        with httpx.Client(base_url=self.redirector_url, timeout=30) as client:
            return client.request(method, path, **kwargs)

    def output(self) -> str:
        return "\n".join(
            f"----- {service.name} ({service.log_path}) -----\n{service.output()}"
            for service in self.services
        )

    def stop(self) -> None:
        """All at once: SIGTERM each, then SIGKILL any that hangs."""
        stop_all([s.supervised for s in self.services if s.supervised], STOP_TIMEOUT_SECONDS)


class StackLauncher:
    """Starts stacks against one Redis URL and stops every one of them at teardown."""

    def __init__(self, redis_url: str, tmp_path: Path) -> None:
        self.redis_url = redis_url
        self.tmp_path = tmp_path
        self.stacks: list[Stack] = []

    def __call__(self, **env_overrides: str | int | None) -> Stack:
        """Start a stack; keyword arguments are SECURELINK_* variables (None removes one)."""
        name = f"stack{len(self.stacks)}"
        data_dir = self.tmp_path / name
        data_dir.mkdir(parents=True)
        redirector_port, admin_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECURELINK_")}
        env.update(
            {
                "SECURELINK_REDIS_URL": self.redis_url,
                "SECURELINK_KEY_PREFIX": "t" + uuid.uuid4().hex[:12],
                "SECURELINK_ADMIN_KEY": secrets.token_urlsafe(32),
                "SECURELINK_ARGON2_PROFILE": "test",
                "SECURELINK_HOST": "127.0.0.1",
                "SECURELINK_REDIRECTOR_PORT": str(redirector_port),
                "SECURELINK_ADMIN_PORT": str(admin_port),
                "SECURELINK_PUBLIC_BASE_URL": f"http://127.0.0.1:{redirector_port}",
                "SECURELINK_DATA_DIR": str(data_dir / "files"),
                "SECURELINK_RETENTION_SECONDS": "604800",
                "PYTHONUNBUFFERED": "1",
            }
        )
        for key, value in env_overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        stack = Stack(
            admin_url=f"http://127.0.0.1:{env['SECURELINK_ADMIN_PORT']}",
            redirector_url=f"http://127.0.0.1:{env['SECURELINK_REDIRECTOR_PORT']}",
            admin_key=env.get("SECURELINK_ADMIN_KEY", ""),
            prefix=env.get("SECURELINK_KEY_PREFIX", "sl"),
            env=env,
            data_dir=data_dir,
        )
        self.stacks.append(stack)
        for service_name, module, url in (
            ("admin API", "admin_api", stack.admin_url),
            ("redirector", "redirector", stack.redirector_url),
        ):
            service = Service(service_name, module, url, data_dir / f"{module}.log")
            stack.services.append(service)
            service.start(env)
        _wait_until_healthy(stack)
        return stack

    def output(self) -> str:
        return "\n".join(stack.output() for stack in self.stacks)

    def stop_all(self) -> None:
        for stack in self.stacks:
            stack.stop()


def _wait_until_healthy(stack: Stack) -> None:
    targets = [(s.supervised, f"{s.url}/-/healthz") for s in stack.services if s.supervised]
    try:
        wait_until_ready(targets, timeout=HEALTH_TIMEOUT_SECONDS, interval=0.05)
    except ProcessExited as exited:
        stack.stop()
        pytest.fail(
            f"{exited.process.name} exited with status {exited.status} before answering "
            f"/-/healthz\n{stack.output()}",
            pytrace=False,
        )
    except NotReady as late:
        stack.stop()
        names = " and ".join(process.name for process in late.waiting)
        pytest.fail(
            f"{names} did not answer /-/healthz within {HEALTH_TIMEOUT_SECONDS:g} s\n"
            f"{stack.output()}",
            pytrace=False,
        )
