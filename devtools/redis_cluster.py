"""Start a real Redis Cluster on free ports, for the tests and the benchmark (never shipped)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from devtools.redis_server import RedisServer, free_port

READY_TIMEOUT_SECONDS = 60.0
# Short, so a test sees a failover in a few seconds; production keeps the default 15000.
NODE_TIMEOUT_MS = 1000


def _cluster_port() -> int:
    """A free port whose cluster bus port (10000 higher) is free too."""
    while True:
        port = free_port()
        if port > 55535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class ClusterStartError(RuntimeError):
    """The cluster did not reach cluster_state:ok (or a replica did not sync) in time."""


class RedisClusterServers:
    """`primaries` cluster-enabled servers with `replicas` replicas each, created by redis-cli."""

    def __init__(
        self,
        *,
        data_dir: Path,
        primaries: int = 3,
        replicas: int = 0,
        node_timeout_ms: int = NODE_TIMEOUT_MS,
        binary: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.primaries = primaries
        self.replicas = replicas
        options = [
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(node_timeout_ms),
            "--cluster-require-full-coverage", "no",
            # A replica may take over however long it was cut off: the test kills on purpose.
            "--cluster-replica-validity-factor", "0",
        ]  # fmt: skip
        self.servers = [
            RedisServer(
                port=_cluster_port(),
                data_dir=self.data_dir / f"node-{index}",
                appendonly=False,
                binary=binary,
                extra_args=options,
            )
            for index in range(primaries * (1 + replicas))
        ]

    @property
    def url(self) -> str:
        """A URL of one node: redis-py discovers the others (the service's SECURELINK_REDIS_URL)."""
        first = self.servers[0]
        return f"redis://{first.host}:{first.port}/0"

    def start(self) -> None:
        """Start every node, create the cluster and wait until it serves every slot."""
        for server in self.servers:
            server.start()
        cli = shutil.which("redis-cli") or shutil.which("valkey-cli")
        if cli is None:
            raise ClusterStartError("no redis-cli on PATH to create the cluster")
        addresses = [f"{server.host}:{server.port}" for server in self.servers]
        command = [cli, "--cluster", "create", *addresses]
        command += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise ClusterStartError(f"redis-cli --cluster create failed:\n{result.stdout}")
        self.wait_until_ready()

    def wait_until_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Every running node says cluster_state:ok; every replica's link to its primary is up."""
        deadline = time.monotonic() + timeout
        while True:
            problems = [p for server in self.servers if (p := self._problem(server))]
            if not problems:
                return
            if time.monotonic() > deadline:
                raise ClusterStartError("cluster not ready: " + "; ".join(problems))
            time.sleep(0.1)

    @staticmethod
    def _problem(server: RedisServer) -> str | None:
        if not server.is_running():
            return None
        client = redis.Redis(
            host=server.host,
            port=server.port,
            socket_timeout=1,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        try:
            info = client.execute_command("CLUSTER INFO")  # type: ignore[no-untyped-call]
            if info.get("cluster_state") != "ok":
                return f"{server.port}: not cluster_state:ok"
            replication = client.info("replication")
            if replication.get("role") == "slave" and replication["master_link_status"] != "up":
                return f"{server.port}: replica not in sync"
            return None
        except redis.RedisError as error:
            return f"{server.port}: {error}"
        finally:
            client.close()

    def primary_of(self, key: str) -> RedisServer:
        """The node that serves `key` now (asked of the cluster, not guessed)."""
        client = redis.RedisCluster.from_url(self.url, socket_timeout=2, decode_responses=True)
        try:
            node = client.get_node_from_key(key)  # type: ignore[no-untyped-call]
            assert node is not None
            return next(s for s in self.servers if s.port == int(node.port))
        finally:
            client.close()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> RedisClusterServers:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
