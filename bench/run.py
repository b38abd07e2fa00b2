"""./scripts/bench: the redirector against its two anchors on this machine, then the extras.

Everything runs here, one process each, against a Redis server of the benchmark's own: the
bare Starlette 302 app (no Redis: the ceiling), the naive HGETALL+HINCRBY app (the floor), and
the redirector; all driven by wrk with the same settings, printed as a markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
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
    node_anchor,
    parse,
    prepare_node_anchor,
    securelink,
    start_wrk,
    uvicorn_app,
    wrk,
)
from bench.race import (
    Contender,
    Scenario,
    count_endpoint,
    cpu_ratios,
    race,
    race_together,
    ratio_line,
    ratios,
    table,
)
from devtools.redis_cluster import RedisClusterServers
from devtools.redis_server import RedisServer, free_port

PREFIX = "sl"  # the default: key names count toward memory per link
TARGET = "https://example.com/bench/target/0123456789"  # 40 characters
PASSWORD = "correct horse battery staple"
OK_METRIC = re.compile(
    r'securelink_resolutions_total\{outcome="ok",service="redirector"\} ([0-9.e+]+)'
)
# What a phone following a link from a news page sends: recording reads both headers.
VISITOR_HEADERS = {
    "BENCH_USER_AGENT": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
    ),
    "BENCH_REFERER": "https://news.example/2026/12/01/an-article?utm_source=feed",
}
CREATION_ROUNDS = 3  # at least this many alternating rounds of single against batch creation
STATS_ROUNDS = 5  # at least this many alternating rounds for the stats on/off ratio
BARE = "bare Starlette 302, no Redis"
NODE = "Node anchor (node:http + ioredis, same script)"
MINE = "securelink redirector"
GRANIAN = "securelink redirector, SECURELINK_SERVER=granian"
UNMETERED = "securelink redirector, hot-path metrics off"
BATCH = 1000  # links a batch request, the route's limit
SUM_VIEWS = """
local views = 0
for _, key in ipairs(KEYS) do views = views + (tonumber(redis.call('HGET', key, 'v')) or 0) end
return views
"""


def metric_count(service: Service) -> int:
    """The redirector's ok resolutions, summed over its workers by the multiprocess metrics."""
    match = OK_METRIC.search(http_get(service.url + "/-/metrics")[1])
    if match is None:
        raise BenchError(f"no ok resolutions in {service.name}'s /-/metrics")
    return int(float(match.group(1)))


@dataclass(frozen=True)
class Profile:
    seconds: float
    warmup: float
    rounds: int
    connections: int
    memory_links: int
    random_links: int
    paired_rounds: int  # rounds of race_together (what metrics cost)
    paired_seconds: float
    exact_links: int = 20
    exact_views: int = 50


FULL = Profile(
    seconds=10,
    warmup=3,
    rounds=3,
    connections=64,
    memory_links=100_000,
    random_links=100_000,
    paired_rounds=11,
    paired_seconds=3,
)
QUICK = Profile(
    seconds=2,
    warmup=1,
    rounds=3,
    connections=64,
    memory_links=10_000,
    random_links=10_000,
    paired_rounds=3,
    paired_seconds=1,
)


class Bench:
    def __init__(self, profile: Profile, work: Path) -> None:
        self.profile = profile
        self.work = work
        self.admin_key = secrets.token_urlsafe(24)
        self.redis_server = RedisServer(data_dir=work / "redis", appendonly=False)
        self.redis: redis.Redis | None = None
        self.admin: Service | None = None
        self.notes: list[str] = []
        self.node_note = prepare_node_anchor()  # None: the Node anchor runs

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

    def views_of(self, codes: list[str]) -> Callable[[], int]:
        """The views of all these links together, read in one script call."""
        assert self.redis is not None
        script = self.redis.register_script(SUM_VIEWS)
        keys = [f"{PREFIX}:link:{{{code}}}" for code in codes]
        return lambda: int(script(keys=keys))

    def redirector(self, name: str, **extra: str) -> Contender:
        port = free_port()
        env = self.env(SECURELINK_REDIRECTOR_PORT=str(port), **extra)
        return Contender(name, securelink("redirector", port, self.work, env), metric_count)

    def lineup(self) -> list[Contender]:
        """The anchors and the redirector, one process each; the Node anchor when installed."""
        env = self.env()
        contenders = [
            Contender(
                BARE,
                uvicorn_app("bare", "bench.bare_app:app", free_port(), self.work, env),
                count_endpoint,
                counts_views=False,
            ),
            Contender(
                "naive HGETALL + HINCRBY",
                uvicorn_app("naive", "bench.naive_app:app", free_port(), self.work, env),
                count_endpoint,
            ),
        ]
        if self.node_note is None:
            contenders.append(Contender(NODE, node_anchor(free_port(), self.work, env),
                                        count_endpoint))  # fmt: skip
        contenders.append(self.redirector(MINE))
        if importlib.util.find_spec("granian") is not None:
            contenders.append(self.redirector(GRANIAN, SECURELINK_SERVER="granian"))
        return contenders

    def unmetered(self) -> Contender:
        """The redirector with its hot path's metric writes patched out (no view count)."""
        port = free_port()
        argv = [sys.executable, "-m", "bench.redirector_without_metrics"]
        unmetered = Service("redirector-nometrics", argv, port, self.work,
                            self.env(SECURELINK_REDIRECTOR_PORT=str(port)))  # fmt: skip
        return Contender(UNMETERED, unmetered, None)

    def seed(self, count: int, name: str = "codes.txt") -> tuple[float, Path]:
        """`securelink seed --count N`: seconds taken, and the codes file it wrote."""
        assert self.admin is not None
        out = self.work / name
        env = {**os.environ, "SECURELINK_ADMIN_URL": self.admin.url,
               "SECURELINK_ADMIN_KEY": self.admin_key}  # fmt: skip
        command = [str(Path(sys.executable).parent / "securelink"), "seed", "--count", str(count),
                   "--tag", "bench", "--out", str(out)]  # fmt: skip
        started = time.monotonic()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.monotonic() - started, out

    def race(self, contenders: list[Contender], scenario: Scenario, codes: list[str]) -> None:
        """Alternating rounds of every contender on `scenario`; their runs start empty."""
        profile = self.profile
        for contender in contenders:
            contender.runs = []
        race(contenders, scenario, self.views_of(codes), rounds=profile.rounds,
             seconds=profile.seconds, warmup=profile.warmup,
             connections=profile.connections)  # fmt: skip

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

    def settle(self) -> int:
        """Wait for the admin API to finish what wrk left in flight; the listing's size then.

        A batch still running when the next run starts would take its time from that run. The
        listing stops growing when the last of its links is written.
        """
        assert self.redis is not None
        index = f"{PREFIX}:index"
        deadline = time.monotonic() + 120
        before = -1
        while time.monotonic() < deadline:
            now = int(self.redis.xlen(index))
            if now == before:
                return now
            before = now
            time.sleep(0.5)
        raise BenchError("the admin API was still creating links 120 s after its last run")

    def links_per_second(self, batch: bool) -> float:
        """Links written while 16 wrk clients create one a request, or in batches of BATCH."""
        assert self.admin is not None and self.redis is not None
        if batch:
            url = self.admin.url + "/api/v1/links/batch"
            body = json.dumps({"links": [{"targetUrl": TARGET}] * BATCH})
        else:
            url = self.admin.url + "/api/v1/links"
            body = json.dumps({"targetUrl": TARGET})
        env = {
            "BENCH_METHOD": "POST",
            "BENCH_BODY": body,
            "BENCH_AUTH": self.auth["Authorization"],
            "BENCH_CONTENT_TYPE": "application/json",
        }
        seconds = max(self.profile.seconds, 5)
        before = self.settle()
        started = time.monotonic()
        wrk(url, env, connections=16, seconds=seconds, timeout=30)
        elapsed = time.monotonic() - started
        return (int(self.redis.xlen(f"{PREFIX}:index")) - before) / elapsed

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs: under a minute")
    parser.add_argument("--table-only", action="store_true", help="skip the extra measurements")
    parser.add_argument(
        "--stats-only", action="store_true", help="only the cost of recording stats"
    )
    parser.add_argument("--rounds", type=int, help="rounds of each race (at least the default)")
    parser.add_argument("--seconds", type=float, help="seconds of a run in turns (default 10)")
    parser.add_argument(
        "--metrics-only", action="store_true", help="only metrics on against off, more rounds"
    )
    parser.add_argument(
        "--creation-only", action="store_true", help="only batch against single creation"
    )
    parser.add_argument(
        "--cluster", action="store_true", help="only the redirector on a 3-primary cluster"
    )
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.rounds is not None:
        profile = dataclasses.replace(
            profile,
            rounds=max(args.rounds, profile.rounds),
            paired_rounds=max(args.rounds, profile.paired_rounds),
        )
    if args.seconds is not None:
        profile = dataclasses.replace(profile, seconds=args.seconds)
    print(f"# securelink benchmark ({'quick' if args.quick else 'full'})", flush=True)
    print(f"Machine: {machine()}", flush=True)
    print(
        f"wrk -t1 -c{profile.connections} -d{profile.seconds:g}s, {profile.rounds} alternating "
        f"rounds after a {profile.warmup:g} s warm-up, medians of per-round ratios; one process "
        "each (Python apps: uvicorn, uvloop, httptools, no access log); every run checks that "
        "the views it added equal the 302s the process served in it",
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
                if args.stats_only:
                    report_stats_cost(bench)
                elif args.metrics_only:
                    report_metrics_cost(bench)
                elif args.creation_only:
                    report_creation(bench)
                elif args.cluster:
                    report_cluster(bench)
                else:
                    report(bench, args.table_only)
    print(f"\n(took {time.monotonic() - started:.0f} s)")
    return 0


def report_cluster(bench: Bench) -> None:
    """The redirector on a 3-primary cluster against the same redirector on one Redis.

    Same run, alternating rounds, the same links (copied key by key from the single server into
    the cluster), codes drawn at random. Each run checks exactness on its own store: on the
    cluster, the views are summed from pipelined HGETs on each primary.
    """
    profile = bench.profile
    assert bench.redis is not None
    _, codes_file = bench.seed(profile.random_links)
    codes = [line for line in codes_file.read_text().split() if line]
    with RedisClusterServers(data_dir=bench.work / "cluster") as cluster:
        target = redis.RedisCluster.from_url(cluster.url)
        pipe = target.pipeline(transaction=False)  # type: ignore[no-untyped-call]
        for code in codes:
            key = f"{PREFIX}:link:{{{code}}}"
            pipe.hset(key, mapping=bench.redis.hgetall(key))
        pipe.execute()
        target.close()
        print(f"\nSeeded {len(codes):,} links, copied into a 3-primary cluster.", flush=True)
        single = bench.redirector("redirector, one Redis")
        on_cluster = bench.redirector(
            "redirector, 3-primary cluster",
            SECURELINK_REDIS_URL=cluster.url,
            SECURELINK_REDIS_CLUSTER="1",
        )
        contenders = [
            single,
            dataclasses.replace(on_cluster, views=cluster_views_of(cluster, codes)),
        ]
        scenario = Scenario(f"{len(codes):,} links at random", "/", "random.lua",
                            {"BENCH_CODES": str(codes_file)})  # fmt: skip
        try:
            for contender in contenders:
                contender.service.start()
            race(contenders, scenario, bench.views_of(codes), rounds=profile.rounds,
                 seconds=profile.seconds, warmup=profile.warmup,
                 connections=profile.connections)  # fmt: skip
            print(f"\n### {scenario.name}\n", flush=True)
            print("\n".join(table(contenders, contenders[0])))
            print()
            print(ratio_line("Cluster / one Redis", ratios(contenders[1], contenders[0])))
            p99 = [b.result.p99_ms / a.result.p99_ms for a, b in
                   zip(contenders[0].runs, contenders[1].runs, strict=True)]  # fmt: skip
            print(ratio_line(f"Cluster p99 / one Redis p99 at {profile.connections} connections",
                             p99))  # fmt: skip
        finally:
            for contender in contenders:
                contender.service.stop()


def cluster_views_of(cluster: RedisClusterServers, codes: list[str]) -> Callable[[], int]:
    """The views of all these links on the cluster: HGETs pipelined to each key's primary.

    The slot map is read once: the benchmark moves no slot while it runs.
    """
    client = redis.RedisCluster.from_url(cluster.url)
    by_node: dict[tuple[str, int], list[str]] = {}
    try:
        for code in codes:
            key = f"{PREFIX}:link:{{{code}}}"
            node = client.get_node_from_key(key)  # type: ignore[no-untyped-call]
            by_node.setdefault((node.host, int(node.port)), []).append(key)
    finally:
        client.close()

    def views() -> int:
        total = 0
        for (host, port), keys in by_node.items():
            with redis.Redis(host=host, port=port) as node:
                pipe = node.pipeline(transaction=False)
                for key in keys:
                    pipe.hget(key, "v")
                total += sum(int(value or 0) for value in pipe.execute())
        return total

    return views


def report_creation(bench: Bench, table: bool = False) -> None:
    """Batches of BATCH against one link a request, 16 clients each, in alternating rounds.

    Both create links without a password, so the ratio is the batch route's pipelining alone.
    Links per second are counted in Redis (the listing index grows by one a link) over each
    run's window, so a batch still in flight when wrk stops counts the links it wrote, no more;
    each run starts once the last one's leftovers are written. A round is one run of each, and
    the ratio is the median of the rounds' ratios.
    """
    single_rates, batch_rates = [], []
    for _ in range(max(bench.profile.rounds, CREATION_ROUNDS)):
        single_rates.append(bench.links_per_second(batch=False))
        batch_rates.append(bench.links_per_second(batch=True))
    per_round = [batch / single if single else 0.0
                 for single, batch in zip(single_rates, batch_rates, strict=True)]  # fmt: skip
    rates = ", ".join(f"{single:,.0f}/s vs {batch:,.0f}/s"
                      for single, batch in zip(single_rates, batch_rates, strict=True))  # fmt: skip
    line = ratio_line(f"Batches of {BATCH} / one a request, links per second, 16 clients",
                      per_round)  # fmt: skip
    if table:
        print(
            "| links created per second, no password, 16 clients, by round: one a request vs "
            f"batches of {BATCH} | {rates} |",
            flush=True,
        )
        bench.notes.append(line)
        return
    print(f"\n### link creation, no password, by round: one a request vs batches ({rates})\n")
    print(line, flush=True)


def report_metrics_cost(bench: Bench) -> None:
    """Metrics on against the hot path's metric writes patched out, driven at the same time.

    A cost of a few percent is below what turns can tell on this machine (race_together says
    why), so each pair runs together, each on links of its own: the hot scenario one link
    each, the random one its own seeded set each. Two identical redirectors, raced the same
    way first, show what the method itself can tell apart: their ratios should sit at 1.
    """
    profile = bench.profile
    on, twin, off = bench.redirector(MINE), bench.redirector(f"{MINE} (twin)"), bench.unmetered()
    hot = {contender.name: bench.create() for contender in (on, twin, off)}
    files = {contender.name: bench.seed(profile.random_links, f"codes-{index}.txt")[1]
             for index, contender in enumerate((on, twin, off))}  # fmt: skip
    codes = {name: [line for line in path.read_text().split() if line]
             for name, path in files.items()}  # fmt: skip

    def hot_link(contender: Contender) -> Scenario:
        contender.views = bench.views_of([hot[contender.name]])
        return Scenario("single hot link", f"/{hot[contender.name]}")

    def at_random(contender: Contender) -> Scenario:
        contender.views = bench.views_of(codes[contender.name])
        links = len(codes[contender.name])
        return Scenario(f"{links:,} links at random, each its own", "/", "random.lua",
                        {"BENCH_CODES": str(files[contender.name])})  # fmt: skip

    rounds, seconds = profile.paired_rounds, profile.paired_seconds
    print(
        f"\nMetrics: each pair driven at the same time, {rounds} rounds of {seconds:g} s, "
        f"wrk -c{profile.connections // 2} each",
        flush=True,
    )
    try:
        for contender in (on, twin, off):
            contender.service.start()
        for scenario_of in (hot_link, at_random):
            for first, second in ((on, twin), (on, off)):
                first.runs, second.runs = [], []
                race_together([(first, scenario_of(first)), (second, scenario_of(second))],
                              rounds=rounds, seconds=seconds, warmup=profile.warmup,
                              connections=profile.connections)  # fmt: skip
                scenario = scenario_of(first).name
                if second is twin:
                    print(f"\n### metrics, {scenario}: the method's own noise\n")
                    print("\n".join(table([first, second], second)))
                    print()
                    print(ratio_line("Identical twins, one / other", ratios(first, second)))
                    print(ratio_line("CPU per request, other / one", cpu_ratios(first, second)),
                          flush=True)  # fmt: skip
                    continue
                print(f"\n### metrics, {scenario}\n")
                print("\n".join(table([first, second], second)))
                print()
                print(ratio_line(f"Metrics on / off ({scenario})", ratios(first, second)))
                print(ratio_line(f"CPU per request, off / on ({scenario})",
                                 cpu_ratios(first, second)), flush=True)  # fmt: skip
    finally:
        for contender in (on, twin, off):
            contender.service.stop()


def report_stats_cost(bench: Bench) -> None:
    """Recording on against off (SECURELINK_STATS=0): same run, same link, alternating rounds.

    Both follow one link with a phone's User-Agent and a news page's Referer, so recording
    parses both headers and writes its day, referrer and device fields on every view.
    """
    code = bench.create()
    scenario = Scenario("one link, phone User-Agent and Referer", f"/{code}", env=VISITOR_HEADERS)
    on = bench.redirector(f"{MINE}, stats recorded")
    off = bench.redirector(f"{MINE}, SECURELINK_STATS=0", SECURELINK_STATS="0")
    profile = bench.profile
    try:
        on.service.start()
        off.service.start()
        race([on, off], scenario, bench.views_of([code]), rounds=max(profile.rounds, STATS_ROUNDS),
             seconds=profile.seconds, warmup=profile.warmup,
             connections=profile.connections)  # fmt: skip
    finally:
        on.service.stop()
        off.service.stop()
    print(f"\n### stats recording, {scenario.name}\n")
    print("\n".join(table([on, off], off)))
    print()
    print(ratio_line("Stats on / off", ratios(on, off)), flush=True)


def report(bench: Bench, table_only: bool) -> None:
    profile = bench.profile
    if bench.node_note:
        print(f"\n{bench.node_note}.", flush=True)
    hot_code = bench.create()
    seconds, codes_file = bench.seed(profile.random_links)
    codes = [line for line in codes_file.read_text().split() if line]
    print(
        f"\nSeeded {len(codes):,} links with `securelink seed` in {seconds:.1f} s "
        f"({len(codes) / seconds:,.0f} links/s).",
        flush=True,
    )
    scenarios = [
        (Scenario("single hot link", f"/{hot_code}"), [hot_code]),
        (
            Scenario(f"{len(codes):,} links at random", "/", "random.lua",
                     {"BENCH_CODES": str(codes_file)}),
            codes,
        ),
    ]  # fmt: skip
    contenders = bench.lineup()
    mine = next(contender for contender in contenders if contender.name == MINE)
    node = next((contender for contender in contenders if contender.name == NODE), None)
    granian = next((contender for contender in contenders if contender.name == GRANIAN), None)
    plain_runs = []
    try:
        for contender in contenders:
            contender.service.start()
        for scenario, scenario_codes in scenarios:
            bench.race(contenders, scenario, scenario_codes)
            print(f"\n### {scenario.name}\n", flush=True)
            print("\n".join(table(contenders, contenders[0])))
            print()
            if node is not None:
                print(ratio_line(f"Redirector / Node anchor ({scenario.name})",
                                 ratios(mine, node)))  # fmt: skip
                print(
                    f"p99 at {profile.connections} connections: redirector "
                    f"{mine.median_p99():.2f} ms, Node anchor {node.median_p99():.2f} ms "
                    "(medians of the rounds)"
                )
            print(ratio_line(f"Redirector / bare ({scenario.name})",
                             ratios(mine, contenders[0])), flush=True)  # fmt: skip
            if granian is not None:
                print(ratio_line("Redirector under granian / under uvicorn", ratios(granian, mine)))
                if node is not None:
                    print(ratio_line("Redirector under granian / Node anchor",
                                     ratios(granian, node)), flush=True)  # fmt: skip
            plain_runs.append(mine.median_run().result)
    finally:
        for contender in contenders:
            contender.service.stop()
    if table_only:
        return

    single = bench.redirector(f"{MINE}, 1 worker")
    double = bench.redirector(f"{MINE}, SECURELINK_WORKERS=2", SECURELINK_WORKERS="2")
    try:
        single.service.start()
        double.service.start()
        for scenario, scenario_codes in scenarios:
            bench.race([single, double], scenario, scenario_codes)
            print(f"\n### workers, {scenario.name} ({os.cpu_count()} cores)\n")
            print("\n".join(table([single, double], single)))
            print()
            print(ratio_line("2 workers / 1", ratios(double, single)), flush=True)
    finally:
        single.service.stop()
        double.service.stop()

    report_stats_cost(bench)
    report_metrics_cost(bench)

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

    plain = plain_runs[0]
    # wrk counts a 303 (right password) as a success and the link's 429s (its guessing bucket
    # is empty) as status errors: only the first are verifications.
    refused = verifying.errors["status"]
    verified = (verifying.requests - refused) / verifying.seconds
    print("\n| measurement | result |\n|---|---|")
    print(
        f"| plain redirect while 20 clients verify passwords | {redirects.rate:,.0f} req/s, "
        f"p50 {redirects.p50_ms:.2f} ms, p99 {redirects.p99_ms:.2f} ms (alone: p99 "
        f"{plain.p99_ms:.2f} ms); {verified:,.1f} verifications/s, {refused:,} answers 429 "
        "(the link's guessing limit) |"
    )
    with_password = bench.creation_rate(with_password=True)
    failed = with_password.errors["status"] + with_password.socket_errors
    print(
        "| links created per second, one a request, with password (Argon2id, owasp profile) | "
        f"{with_password.rate:,.0f}/s (p99 {with_password.p99_ms:.1f} ms"
        f"{f', {failed} failed' if failed else ''}) |",
        flush=True,
    )
    report_creation(bench, table=True)
    links, delta, one = bench.memory_per_link()
    print(
        f"| Redis memory per link, {links:,} links, 40-character URL | used_memory delta "
        f"{delta:,.0f} B/link; MEMORY USAGE of one link hash {one} B |"
    )
    print()
    for note in bench.notes:
        print(note, flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(1)
