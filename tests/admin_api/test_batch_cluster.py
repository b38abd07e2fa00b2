"""The batch route on a real three-primary Redis Cluster: the same per-item results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from admin_api.app import create_app
from shared.redis_server import RedisServer, free_port
from shared.settings import Settings

SLOTS = 16384


class ClusterNode(RedisServer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bus_port = free_port()

    def command(self) -> list[str]:
        return [
            *super().command(),
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(self.data_dir / "nodes.conf"),
            "--cluster-port", str(self.bus_port),
            "--cluster-require-full-coverage", "no",
        ]  # fmt: skip


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("cluster")
    nodes = [ClusterNode(data_dir=base / f"n{i}", appendonly=False) for i in range(3)]
    for node in nodes:
        node.start()
    try:
        clients = [redis.Redis(port=node.port) for node in nodes]
        third = SLOTS // 3
        for i, client in enumerate(clients):
            last = SLOTS - 1 if i == 2 else (i + 1) * third - 1
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", i * third, last)
        for node in nodes[1:]:
            clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, node.bus_port)
        deadline = time.monotonic() + 20
        while not all(b"cluster_state:ok" in c.execute_command("CLUSTER", "INFO") for c in clients):
            assert time.monotonic() < deadline, "the cluster did not form"
            time.sleep(0.1)
        yield nodes[0].url
    finally:
        for node in nodes:
            node.stop()


class ClusterAdmin:
    """The admin app on the cluster, driven in one event loop of its own per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def run(self, *requests: tuple[str, str, Any]) -> list[httpx.Response]:
        async def scenario() -> list[httpx.Response]:
            app = create_app(self.settings)
            headers = {"Authorization": "Bearer cluster-test-key"}
            transport = httpx.ASGITransport(app=app)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://admin") as client,
            ):
                return [
                    await client.request(method, path, json=body, headers=headers)
                    for method, path, body in requests
                ]

        return asyncio.run(scenario())


@pytest.fixture
def cluster_admin(cluster_url: str, key_prefix: str, tmp_path: Path) -> ClusterAdmin:
    return ClusterAdmin(
        Settings(
            redis_url=cluster_url,
            redis_cluster=True,
            key_prefix=key_prefix,
            admin_key="cluster-test-key",
            argon2_profile="test",
            data_dir=tmp_path,
            # Generous: a busy machine must not turn a slow reply into a 503 here.
            redis_timeout_ms=10_000,
        )
    )


def test_a_batch_on_a_cluster_answers_every_item_in_order(cluster_admin: ClusterAdmin) -> None:
    items: list[dict[str, Any]] = [{"targetUrl": f"https://example.com/{i}"} for i in range(300)]
    items[3] = {"targetUrl": "nope"}
    items[4] = {"targetUrl": "https://example.com/pw", "password": "s3cret"}
    items[5] = items[6] = {"targetUrl": "https://example.com/c", "customCode": "cluster-code"}

    (response,) = cluster_admin.run(("POST", "/api/v1/links/batch", {"links": items}))
    results = response.json()["results"]
    picked = (0, 5, 150, 299)
    reads = cluster_admin.run(
        *[("GET", f"/api/v1/links/{results[i]['link']['shortCode']}", None) for i in picked]
    )

    assert response.status_code == 200
    assert [r["index"] for r in results] == list(range(300))
    statuses = [r["status"] for r in results]
    assert statuses[3] == 400 and statuses[6] == 409
    assert statuses.count(201) == 298
    assert results[4]["link"]["passwordProtected"] is True
    assert [read.json().get("targetUrl", read.text) for read in reads] == [
        items[i]["targetUrl"] for i in picked
    ]


def test_a_batchs_links_spread_over_every_primary(
    cluster_admin: ClusterAdmin, cluster_url: str
) -> None:
    items = [{"targetUrl": f"https://example.com/{i}"} for i in range(60)]

    (response,) = cluster_admin.run(("POST", "/api/v1/links/batch", {"links": items}))

    results = response.json()["results"]
    assert [r["status"] for r in results] == [201] * 60
    client = redis.RedisCluster.from_url(cluster_url)
    try:
        owners = {client.get_node_from_key(f"x:{{{r['link']['shortCode']}}}").port for r in results}
    finally:
        client.close()
    assert len(owners) == 3
