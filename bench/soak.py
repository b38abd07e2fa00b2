"""scripts/soak: a bounded mixed load against a stack of its own, then exact accounting.

Many async clients create links (unlimited, view-limited, password-protected), follow them,
HEAD them, revoke some and try passwords (mostly right, some wrong) for --seconds. Then every
link's counted views (admin GET) must equal the redirects the soak was served (302s and 303s),
and never exceed maxViews; no answer may be a 5xx or missing; a link revoked must answer 410
to every request that started after the revoke returned. Exit status 1 on any violation.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.processes import NotReady, Process, ProcessExited, stop_all, wait_until_ready
from devtools.redis_server import RedisServer, free_port

START_TIMEOUT_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = 10.0
KEEPALIVE_SECONDS = 2.0

# Operation mix, by weight.
MIX = {"follow": 60, "password": 15, "create": 10, "head": 10, "revoke": 5}
# Statuses each operation may answer; anything else is a violation.
ALLOWED = {
    "create": {201},
    "follow": {302, 410},
    "head": {302, 410},
    # A view-limited link's HEAD is the neutral page: its target never shows without a view.
    "head_limited": {200, 410},
    "password": {303, 401, 410, 429},
    "revoke": {200},
}
WRONG_PASSWORD_SHARE = 0.2


@dataclass
class Tracked:
    """One link the soak created, and what the soak saw of it."""

    code: str
    max_views: int | None
    password: str | None
    served: int = 0  # 302s to GET, 303s to a right password
    revoked_at: float | None = None  # monotonic time the revoke returned


@dataclass
class Stats:
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def record(self, operation: str, status: int, elapsed: float, error: str = "") -> None:
        """status 0: no answer at all (`error` says why)."""
        self.statuses.setdefault(operation, Counter())[status] += 1
        self.latencies.setdefault(operation, []).append(elapsed)
        if status not in ALLOWED[operation]:
            self.violations.append(f"{operation} answered {status or error or 'nothing'}")


class Soak:
    def __init__(self, admin: httpx.AsyncClient, redirector: httpx.AsyncClient, seed: int):
        self.admin = admin
        self.redirector = redirector
        self.random = random.Random(seed)
        self.links: list[Tracked] = []
        self.stats = Stats()

    async def call(
        self, operation: str, client: httpx.AsyncClient, method: str, path: str, **kwargs: object
    ) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as error:
            self.stats.record(operation, 0, time.monotonic() - started, type(error).__name__)
            return None
        self.stats.record(operation, response.status_code, time.monotonic() - started)
        return response

    async def create(self) -> None:
        kind = self.random.choice(("unlimited", "limited", "limited", "password"))
        body: dict[str, object] = {"targetUrl": f"https://example.com/{uuid.uuid4().hex}"}
        max_views = password = None
        if kind == "limited":
            max_views = self.random.randint(1, 30)
        if kind == "password":
            password = secrets.token_urlsafe(8)
            max_views = self.random.choice((None, self.random.randint(5, 50)))
        if max_views is not None:
            body["maxViews"] = max_views
        if password is not None:
            body["password"] = password
        response = await self.call("create", self.admin, "POST", "/api/v1/links", json=body)
        if response is not None and response.status_code == 201:
            self.links.append(Tracked(response.json()["shortCode"], max_views, password))

    def pick(self, *, password: bool) -> Tracked | None:
        candidates = [link for link in self.links[-200:] if (link.password is not None) == password]
        return self.random.choice(candidates) if candidates else None

    async def follow(self) -> None:
        link = self.pick(password=False)
        if link is None:
            return
        started = time.monotonic()
        response = await self.call("follow", self.redirector, "GET", f"/{link.code}")
        if response is not None and response.status_code == 302:
            link.served += 1
            if link.revoked_at is not None and started > link.revoked_at:
                self.stats.violations.append(f"{link.code}: 302 after its revoke returned")

    async def head(self) -> None:
        link = self.pick(password=False)
        if link is not None:
            operation = "head" if link.max_views is None else "head_limited"
            await self.call(operation, self.redirector, "HEAD", f"/{link.code}")

    async def password(self) -> None:
        link = self.pick(password=True)
        if link is None:
            return
        assert link.password is not None
        wrong = self.random.random() < WRONG_PASSWORD_SHARE
        attempt = "not-" + link.password if wrong else link.password
        response = await self.call(
            "password", self.redirector, "POST", f"/{link.code}", data={"password": attempt}
        )
        if response is None:
            return
        if response.status_code == 303:
            link.served += 1
            if wrong:
                self.stats.violations.append(f"{link.code}: a wrong password was let through")

    async def revoke(self) -> None:
        link = self.pick(password=self.random.random() < 0.2)
        if link is None or link.revoked_at is not None:
            return
        path = f"/api/v1/links/{link.code}/revoke"
        response = await self.call("revoke", self.admin, "POST", path)
        if response is not None and response.status_code == 200:
            link.revoked_at = time.monotonic()

    async def client(self, deadline: float) -> None:
        operations = list(MIX)
        weights = list(MIX.values())
        while time.monotonic() < deadline:
            operation = self.random.choices(operations, weights)[0]
            await getattr(self, operation)()

    async def run(self, seconds: float, clients: int) -> None:
        for _ in range(20):
            await self.create()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(self.client(deadline) for _ in range(clients)))

    async def views(self) -> dict[str, int | None]:
        """Counted views of every link, read back through the admin API."""
        views: dict[str, int | None] = {}
        for link in self.links:
            response = await self.admin.get(f"/api/v1/links/{link.code}")
            views[link.code] = response.json()["views"] if response.status_code == 200 else None
        return views


def find_violations(links: Sequence[Tracked], views: dict[str, int | None]) -> list[str]:
    """Every link: views counted == redirects served <= maxViews."""
    violations = []
    for link in links:
        counted = views.get(link.code)
        if counted is None:
            violations.append(f"{link.code}: created (201) but not found afterwards")
            continue
        if counted != link.served:
            violations.append(f"{link.code}: {counted} views counted, {link.served} served")
        if link.max_views is not None and counted > link.max_views:
            violations.append(f"{link.code}: {counted} views counted, maxViews {link.max_views}")
    return violations


def summary(stats: Stats, seconds: float, links: Sequence[Tracked]) -> str:
    lines = [
        f"{'operation':<10} {'requests':>9} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses",
    ]
    total = 0
    for operation in MIX:
        latencies = sorted(stats.latencies.get(operation, []))
        count = len(latencies)
        total += count
        p50 = latencies[count // 2] * 1000 if latencies else 0.0
        p99 = latencies[min(count - 1, int(count * 0.99))] * 1000 if latencies else 0.0
        counts = sorted(stats.statuses.get(operation, {}).items())
        statuses = " ".join(f"{status or 'none'}:{n}" for status, n in counts)
        rate = count / seconds
        lines.append(f"{operation:<10} {count:>9} {rate:>8.0f} {p50:>8.1f} {p99:>8.1f}  {statuses}")
    lines.append(f"{'total':<10} {total:>9} {total / seconds:>8.0f}")
    limited = sum(link.max_views is not None for link in links)
    protected = sum(link.password is not None for link in links)
    revoked = sum(link.revoked_at is not None for link in links)
    served = sum(link.served for link in links)
    lines.append(
        f"links: {len(links)} ({limited} with maxViews, {protected} with a password, "
        f"{revoked} revoked); redirects served: {served}"
    )
    return "\n".join(lines)


@contextmanager
def stack(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[str, str, str]]:
    """Redis (unless --redis-url) and both services; yields the admin URL, redirector URL, key."""
    server = None
    redis_url = args.redis_url
    if redis_url is None:
        server = RedisServer(data_dir=workdir / "redis", appendonly=True, appendfsync="everysec")
        server.start()
        redis_url = server.url
    admin_port, redirector_port = free_port(), free_port()
    admin_key = secrets.token_urlsafe(32)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SECURELINK_")}
    env.update(
        SECURELINK_REDIS_URL=redis_url,
        SECURELINK_KEY_PREFIX="soak" + uuid.uuid4().hex[:8],
        SECURELINK_ADMIN_KEY=admin_key,
        SECURELINK_ADMIN_PORT=str(admin_port),
        SECURELINK_REDIRECTOR_PORT=str(redirector_port),
        SECURELINK_PUBLIC_BASE_URL=f"http://127.0.0.1:{redirector_port}",
        SECURELINK_DATA_DIR=str(workdir / "data"),
        SECURELINK_WORKERS=str(args.workers),
        SECURELINK_ARGON2_PROFILE=args.argon2_profile,
        PYTHONUNBUFFERED="1",
    )
    processes = [
        Process(
            name=module,
            argv=[sys.executable, "-m", module],
            env=env,
            log_path=workdir / f"{module}.log",
        )
        for module in ("admin_api", "redirector")
    ]
    try:
        for process in processes:
            process.start()
        urls = (f"http://127.0.0.1:{admin_port}", f"http://127.0.0.1:{redirector_port}")
        _wait_healthy(urls, processes)
        yield urls[0], urls[1], admin_key
    finally:
        stop_all(processes)
        for process in processes:
            errors = [line for line in process.output().splitlines() if "ERROR" in line]
            if errors:
                print(
                    f"{process.name} logged {len(errors)} errors, e.g. {errors[0]}", file=sys.stderr
                )
        if server is not None:
            server.stop()


def _wait_healthy(urls: Sequence[str], processes: Sequence[Process]) -> None:
    targets = [(process, f"{url}/-/readyz") for process, url in zip(processes, urls, strict=True)]
    try:
        wait_until_ready(targets, timeout=START_TIMEOUT_SECONDS)
    except ProcessExited as exited:
        log = exited.process.tail(2000)
        raise SystemExit(f"soak: {exited.process.name} exited at start:\n{log}") from None
    except NotReady as late:
        waiting = [
            url for process, url in zip(processes, urls, strict=True) if process in late.waiting
        ]
        raise SystemExit(f"soak: {', '.join(waiting)} did not become ready") from None


async def run_soak(
    admin_url: str, redirector_url: str, admin_key: str, args: argparse.Namespace
) -> int:
    # Idle connections are dropped well before uvicorn's 5 s keep-alive timeout: reusing one
    # just as the server closes it loses the request (RemoteProtocolError), a client-side race.
    limits = httpx.Limits(
        max_connections=args.clients,
        max_keepalive_connections=args.clients,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )
    timeout = httpx.Timeout(REQUEST_TIMEOUT_SECONDS)
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with (
        httpx.AsyncClient(
            base_url=admin_url, headers=headers, limits=limits, timeout=timeout
        ) as admin,
        httpx.AsyncClient(base_url=redirector_url, limits=limits, timeout=timeout) as redirector,
    ):
        soak = Soak(admin, redirector, args.seed)
        started = time.monotonic()
        await soak.run(args.seconds, args.clients)
        elapsed = time.monotonic() - started
        violations = soak.stats.violations + find_violations(soak.links, await soak.views())
    print(summary(soak.stats, elapsed, soak.links))
    server_errors = sum(
        n for counts in soak.stats.statuses.values() for s, n in counts.items() if s >= 500
    )
    print(f"5xx answers: {server_errors}")
    if violations:
        shown = Counter(violations).most_common(20)
        print(f"FAILED: {len(violations)} violations")
        for violation, times in shown:
            print(f"  {violation}" + (f" (x{times})" if times > 1 else ""))
        return 1
    print("OK: zero 5xx; for every link, views counted == redirects served <= maxViews")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/soak", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration (60)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--workers", type=int, default=1, help="SECURELINK_WORKERS (1)")
    parser.add_argument(
        "--argon2-profile", default="test", help="SECURELINK_ARGON2_PROFILE (test: cheap hashes)"
    )
    parser.add_argument("--redis-url", default=None, help="use this server (default: start one)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = secrets.randbits(32)
    if not 0 < args.seconds <= 3600 or not 1 <= args.clients <= 1000:
        parser.error("--seconds must be in (0, 3600] and --clients in [1, 1000]")
    print(
        f"soak: {args.seconds:g} s, {args.clients} clients, {args.workers} worker(s), "
        f"seed {args.seed}",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="securelink-soak-") as workdir,
        stack(args, Path(workdir)) as (admin_url, redirector_url, admin_key),
    ):
        return asyncio.run(run_soak(admin_url, redirector_url, admin_key, args))


if __name__ == "__main__":
    sys.exit(main())
