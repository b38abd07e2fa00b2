"""./scripts/bench: the redirector against its two anchors on this machine, then the extras.

Everything runs here, one process each, against a Redis server of the benchmark's own: the
bare Starlette 302 app (no Redis: the ceiling), the naive HGETALL+HINCRBY app (the floor), and
the redirector; all driven by wrk with the same settings, printed as a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bench.procs import (
    BenchError,
    Service,
    WrkResult,
    finish_wrk,
    http_get,
    http_post,
    parse,
    securelink,
    start_wrk,
    uvicorn_app,
    wrk,
)
from shared.redis_server import RedisServer, free_port

PREFIX = "sl"  # the default: key names count toward memory per link
TARGET = "https://example.com/bench/target/0123456789"  # 40 characters
PASSWORD = "correct horse battery staple"
BATCH = 1000  # links a batch request, the route's limit
OK_METRIC = re.compile(
    r'securelink_resolutions_total\{outcome="ok",service="redirector"\} ([0-9.e+]+)'
)


@dataclass(frozen=True)
class Profile:
    seconds: float
    warmup: float
    rounds: int
    connections: int
    memory_links: int
    exact_links: int = 20
    exact_views: int = 50


FULL = Profile(seconds=10, warmup=3, rounds=3, connections=64, memory_links=100_000)
QUICK = Profile(seconds=2, warmup=1, rounds=2, connections=64, memory_links=10_000)


@dataclass
class Row:
    """The best of an app's runs; views and 302s as counted over the process's whole life."""

    name: str
    result: WrkResult
    views: int | None = None
    served: int | None = None
    in_flight: int | None = None  # views counted beyond wrk's responses in the best run


@dataclass
class Contender:
    name: str
    service: Service
    code: str
    counts_views: bool
    runs: list[tuple[WrkResult, int]] = field(default_factory=list)  # (result, views added)

    @property
    def url(self) -> str:
        return f"{self.service.url}/{self.code}"


class Bench:
    def __init__(self, profile: Profile, work: Path) -> None:
        self.profile = profile
        self.work = work
        self.admin_key = secrets.token_urlsafe(24)
        self.redis_server = RedisServer(data_dir=work / "redis", appendonly=False)
        self.redis: redis.Redis | None = None
        self.admin: Service | None = None
        self.notes: list[str] = []

    # --- set-up ------------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        return {
            "SECURELINK_REDIS_URL": self.redis_server.url,
            "SECURELINK_KEY_PREFIX": PREFIX,
            "SECURELINK_DATA_DIR": str(self.work / "data"),
            "SECURELINK_ADMIN_KEY": self.admin_key,
            "SECURELINK_LOG_LEVEL": "warning",
            "BENCH_REDIS_URL": self.redis_server.url,
            "BENCH_KEY_PREFIX": PREFIX,
            **extra,
        }

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}", "Content-Type": "application/json"}

    def create(self, **fields: Any) -> str:
        """One link through the admin API; its code."""
        assert self.admin is not None
        body = json.dumps({"targetUrl": TARGET, **fields}).encode()
        link = http_post(self.admin.url + "/api/v1/links", body, self.auth)
        code: str = link["shortCode"]
        return code

    def views(self, code: str) -> int:
        assert self.redis is not None
        return int(self.redis.hget(f"{PREFIX}:link:{{{code}}}", "v") or 0)

    def contenders(self, workers: int) -> list[Contender]:
        def redirector() -> Service:
            port = free_port()
            env = self.env(SECURELINK_WORKERS=str(workers), SECURELINK_REDIRECTOR_PORT=str(port))
            return securelink("redirector", port, self.work, env)

        def without_metrics() -> Service:
            port = free_port()
            env = self.env(SECURELINK_REDIRECTOR_PORT=str(port))
            argv = [sys.executable, "-m", "bench.redirector_without_metrics"]
            return Service("redirector-nometrics", argv, port, self.work, env)

        if workers > 1:
            return [Contender(f"redirector, SECURELINK_WORKERS={workers}", redirector(),
                              self.create(), counts_views=True)]  # fmt: skip
        env = self.env()
        return [
            Contender(
                "bare Starlette 302, no Redis",
                uvicorn_app("bare", "bench.bare_app:app", free_port(), self.work, env),
                self.create(),
                counts_views=False,
            ),
            Contender(
                "naive HGETALL + HINCRBY",
                uvicorn_app("naive", "bench.naive_app:app", free_port(), self.work, env),
                self.create(),
                counts_views=True,
            ),
            Contender("securelink redirector", redirector(), self.create(), counts_views=True),
            Contender(
                "redirector, hot-path metrics off (`bench/redirector_without_metrics.py`)",
                without_metrics(),
                self.create(),
                counts_views=True,
            ),
        ]

    def race(self, workers: int = 1) -> list[Row]:
        """Every contender warmed up, then measured in alternating rounds: the best run counts.

        Alternating rounds and the best of them keep a burst of other work on the machine from
        landing on one contender only.
        """
        contenders = self.contenders(workers)
        profile = self.profile
        try:
            for contender in contenders:
                contender.service.start()
                wrk(contender.url, connections=profile.connections, seconds=profile.warmup)
            time.sleep(0.5)
            for _ in range(profile.rounds):
                for contender in contenders:
                    before = self.views(contender.code)
                    result = wrk(contender.url, connections=profile.connections,
                                 seconds=profile.seconds)  # fmt: skip
                    time.sleep(0.3)  # requests in flight when wrk stopped finish
                    contender.runs.append((result, self.views(contender.code) - before))
            return [self.row(contender) for contender in contenders]
        finally:
            for contender in contenders:
                contender.service.stop()

    def row(self, contender: Contender) -> Row:
        result, added = max(contender.runs, key=lambda run: run[0].rate)
        url = contender.service.url
        served = None
        if contender.service.name == "redirector":
            # Every worker's count, summed by the metrics' multiprocess mode.
            if contender.counts_views:
                match = OK_METRIC.search(http_get(url + "/-/metrics")[1])
                served = int(float(match.group(1))) if match else None
        elif contender.service.name != "redirector-nometrics":  # it counts no 302s
            served = int(http_get(url + "/-/count")[1])
        views = self.views(contender.code) if contender.counts_views else None
        return Row(contender.name, result, views, served, added - result.requests)

    def exactness(self, service_url: str) -> tuple[int, int, dict[str, int]]:
        """Links with maxViews raced by wrk: passes allowed, passes given, statuses."""
        profile = self.profile
        codes = [self.create(maxViews=profile.exact_views) for _ in range(profile.exact_links)]
        paths = " ".join(f"/{code}" for code in codes)
        env = {"BENCH_PATHS": paths}
        seconds = max(2, round(profile.seconds / 3))
        report = finish_wrk(
            start_wrk(
                f"{service_url}/",
                env,
                connections=profile.connections,
                seconds=seconds,
                script="exact.lua",
            )
        )
        passes = sum(self.views(code) for code in codes)
        return profile.exact_links * profile.exact_views, passes, report["statuses"]

    # --- the extras --------------------------------------------------------------------------
    def creation_rate(self, with_password: bool) -> WrkResult:
        assert self.admin is not None
        fields: dict[str, Any] = {"targetUrl": TARGET}
        if with_password:
            fields["password"] = PASSWORD
        env = {
            "BENCH_METHOD": "POST",
            "BENCH_BODY": json.dumps(fields),
            "BENCH_AUTH": self.auth["Authorization"],
            "BENCH_CONTENT_TYPE": "application/json",
        }
        connections = 8 if with_password else 16
        wrk(self.admin.url + "/api/v1/links", env, connections=connections, seconds=1, timeout=10)
        return wrk(
            self.admin.url + "/api/v1/links",
            env,
            connections=connections,
            seconds=self.profile.seconds,
            timeout=10,
        )

    def batch_rate(self) -> WrkResult:
        """POST /api/v1/links/batch with 1000 links a request, 16 clients: requests, not links."""
        assert self.admin is not None
        env = {
            "BENCH_METHOD": "POST",
            "BENCH_BODY": json.dumps({"links": [{"targetUrl": TARGET}] * BATCH}),
            "BENCH_AUTH": self.auth["Authorization"],
            "BENCH_CONTENT_TYPE": "application/json",
        }
        url = self.admin.url + "/api/v1/links/batch"
        # A batch takes about 0.1 s alone, so 16 at once need seconds of their own to finish.
        wrk(url, env, connections=16, seconds=2, timeout=30)
        seconds = max(self.profile.seconds, 5)
        return wrk(url, env, connections=16, seconds=seconds, timeout=30)

    def seed(self, count: int) -> tuple[float, Path]:
        """`securelink seed --count N`: seconds taken, and the codes file it wrote."""
        assert self.admin is not None
        out = self.work / "codes.txt"
        env = {**os.environ, "SECURELINK_ADMIN_URL": self.admin.url,
               "SECURELINK_ADMIN_KEY": self.admin_key}  # fmt: skip
        command = [str(Path(sys.executable).parent / "securelink"), "seed", "--count", str(count),
                   "--tag", "bench", "--out", str(out)]  # fmt: skip
        started = time.monotonic()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.monotonic() - started, out

    def random_access(self, service_url: str, codes: Path) -> WrkResult:
        """Redirects spread at random over every seeded code (BENCH_CODES)."""
        env = {"BENCH_CODES": str(codes)}
        profile = self.profile
        wrk(f"{service_url}/", env, connections=profile.connections, seconds=profile.warmup,
            script="random.lua")  # fmt: skip
        return wrk(f"{service_url}/", env, connections=profile.connections,
                   seconds=profile.seconds, script="random.lua")  # fmt: skip

    def memory_per_link(self) -> tuple[int, float, int]:
        """(links, used_memory delta per link, MEMORY USAGE of one link hash), bytes."""
        assert self.admin is not None and self.redis is not None
        count, per_batch = self.profile.memory_links, 800  # 800 items stay under 64 KiB
        body = json.dumps({"links": [{"targetUrl": TARGET}] * per_batch}).encode()
        before = int(self.redis.info("memory")["used_memory"])
        created, code = 0, ""
        while created < count:
            reply = http_post(self.admin.url + "/api/v1/links/batch", body, self.auth)
            results = reply["results"]
            if any(result["status"] != 201 for result in results):
                raise BenchError(f"batch create failed: {results[:3]}")
            created += len(results)
            code = results[-1]["link"]["shortCode"]
        after = int(self.redis.info("memory")["used_memory"])
        one = int(self.redis.memory_usage(f"{PREFIX}:link:{{{code}}}", samples=0) or 0)
        return created, (after - before) / created, one

    def redirect_under_passwords(self, service_url: str) -> tuple[WrkResult, WrkResult]:
        """Plain redirects at full load while 20 clients verify passwords (Argon2id) at once."""
        plain = self.create()
        guarded = self.create(password=PASSWORD)
        env = {
            "BENCH_METHOD": "POST",
            "BENCH_BODY": f"password={PASSWORD.replace(' ', '+')}",
            "BENCH_CONTENT_TYPE": "application/x-www-form-urlencoded",
        }
        seconds = self.profile.seconds
        verifying = start_wrk(
            f"{service_url}/{guarded}", env, connections=20, seconds=seconds + 1, timeout=10
        )
        time.sleep(0.5)
        redirects = wrk(
            f"{service_url}/{plain}", connections=self.profile.connections, seconds=seconds
        )
        return redirects, parse(finish_wrk(verifying))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    server = subprocess.run(
        [RedisServer(data_dir=Path("."), appendonly=False).binary, "--version"],
        capture_output=True,
        text=True,
    ).stdout.split()
    version = next((part for part in server if part.startswith("v=")), "v=?")[2:]
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, Redis {version}, wrk {wrk_version[1]}"
    )


def fmt_row(row: Row, bare: float, connections: int = 64) -> str:
    r = row.result
    share = f"{r.rate / bare:.2f}" if bare else "-"
    if row.views is None:
        counts = "no Redis"
    elif row.served is not None:
        mark = "exact" if row.views == row.served else "MISMATCH"
        counts = f"{row.views:,} / {row.served:,} ({mark})"
    else:  # several workers: wrk's responses against the views its run added
        added = r.requests + (row.in_flight or 0)
        mark = "exact" if 0 <= (row.in_flight or 0) <= connections else "MISMATCH"
        counts = f"{added:,} / {r.requests:,} read by wrk, +{row.in_flight} in flight ({mark})"
    errors = f" ({r.socket_errors} socket errors)" if r.socket_errors else ""
    return (
        f"| {row.name} | {r.rate:,.0f}{errors} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {share} "
        f"| {counts} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs: under a minute")
    parser.add_argument("--table-only", action="store_true", help="skip the extra measurements")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    print(f"# securelink benchmark ({'quick' if args.quick else 'full'})", flush=True)
    print(f"Machine: {machine()}", flush=True)
    print(
        f"wrk -t1 -c{profile.connections} -d{profile.seconds:g}s, best of {profile.rounds} "
        f"alternating rounds after a {profile.warmup:g} s warm-up; one uvicorn process each "
        "(uvloop, httptools, no access log); views and 302s over each process's whole life",
        flush=True,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="securelink-bench-") as tmp:
        bench = Bench(profile, Path(tmp))
        with bench.redis_server:
            bench.redis = redis.Redis.from_url(bench.redis_server.url)
            admin_port = free_port()
            admin_env = bench.env(SECURELINK_ADMIN_PORT=str(admin_port))
            with securelink("admin_api", admin_port, Path(tmp), admin_env) as admin:
                bench.admin = admin
                report(bench, args.table_only)
    print(f"\n(took {time.monotonic() - started:.0f} s)")
    return 0


def report(bench: Bench, table_only: bool) -> None:
    rows = bench.race()
    if not table_only:
        rows += bench.race(workers=2)
    bare = rows[0].result.rate
    print("\n| app | req/s | p50 ms | p99 ms | share of bare | views counted / 302s served |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(fmt_row(row, bare, bench.profile.connections))
    naive, mine, unmetered = rows[1].result.rate, rows[2].result.rate, rows[3].result.rate
    print(
        f"\nRedirector: {mine / bare:.2f} of bare, {mine / naive:.2f}x naive, "
        f"p99 {rows[2].result.p99_ms:.2f} ms; with metrics {mine / unmetered:.2f} of its "
        "throughput without them.",
        flush=True,
    )
    if table_only:
        return

    port = free_port()
    env = bench.env(SECURELINK_REDIRECTOR_PORT=str(port))
    with securelink("redirector", port, bench.work, env) as service:
        allowed, passes, statuses = bench.exactness(service.url)
        print(
            f"\nExactness: {bench.profile.exact_links} links with maxViews "
            f"{bench.profile.exact_views}, raced by {bench.profile.connections} connections: "
            f"{passes} views counted of {allowed} allowed; statuses seen {statuses}",
            flush=True,
        )
        redirects, verifying = bench.redirect_under_passwords(service.url)
    naive_app = uvicorn_app("naive", "bench.naive_app:app", free_port(), bench.work, bench.env())
    with naive_app:
        allowed, passes, statuses = bench.exactness(naive_app.url)
        print(f"Naive app, same race: {passes} views counted of {allowed} allowed; {statuses}")

    plain = rows[2].result
    print("\n| measurement | result |\n|---|---|")
    print(
        f"| plain redirect while 20 clients verify passwords | {redirects.rate:,.0f} req/s, "
        f"p50 {redirects.p50_ms:.2f} ms, p99 {redirects.p99_ms:.2f} ms (alone: p99 "
        f"{plain.p99_ms:.2f} ms); {verifying.rate:,.1f} verifications/s |"
    )
    rates = {}
    for with_password in (False, True):
        result = rates[with_password] = bench.creation_rate(with_password)
        label = "with password (Argon2id, owasp profile)" if with_password else "no password"
        failed = result.errors["status"] + result.socket_errors
        print(
            f"| links created per second, one a request, {label}, "
            f"{8 if with_password else 16} clients | {result.rate:,.0f}/s "
            f"(p99 {result.p99_ms:.1f} ms{f', {failed} failed' if failed else ''}) |",
            flush=True,
        )
    batch = bench.batch_rate()
    batch_links = batch.rate * BATCH
    failed = batch.errors["status"] + batch.socket_errors
    print(
        f"| links created per second, batches of {BATCH}, no password, 16 clients | "
        f"{batch_links:,.0f}/s, {batch_links / rates[False].rate:.1f}x one a request "
        f"(p99 {batch.p99_ms:.0f} ms a batch{f', {failed} failed' if failed else ''}) |",
        flush=True,
    )
    seconds, codes = bench.seed(bench.profile.memory_links)
    print(
        f"| `securelink seed --count {bench.profile.memory_links:,}` | {seconds:.1f} s "
        f"({bench.profile.memory_links / seconds:,.0f} links/s) |",
        flush=True,
    )
    port = free_port()
    env = bench.env(SECURELINK_REDIRECTOR_PORT=str(port))
    with securelink("redirector", port, bench.work, env) as service:
        spread = bench.random_access(service.url, codes)
    print(
        f"| redirects at random over the {bench.profile.memory_links:,} seeded codes "
        f"(`bench/random.lua`) | {spread.rate:,.0f} req/s, p50 {spread.p50_ms:.2f} ms, "
        f"p99 {spread.p99_ms:.2f} ms (single hot link: {plain.rate:,.0f} req/s)"
        f"{f'; {spread.errors}' if spread.errors['status'] or spread.socket_errors else ''} |",
        flush=True,
    )
    links, delta, one = bench.memory_per_link()
    print(
        f"| Redis memory per link, {links:,} links, 40-character URL | used_memory delta "
        f"{delta:,.0f} B/link; MEMORY USAGE of one link hash {one} B |"
    )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(1)
