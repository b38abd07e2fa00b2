"""A real 3-primary Redis Cluster for the session, started on free ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.redis_cluster import RedisClusterServers
from tests.support.stacks import Stack, StackLauncher


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """Three primaries, no replicas: shared by every test; none kills a node of it."""
    with RedisClusterServers(data_dir=tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def start_cluster_stack(
    redis_cluster: RedisClusterServers, tmp_path: Path
) -> Iterator[Callable[..., Stack]]:
    """start_cluster_stack(**env) -> both services as processes, in cluster mode."""
    launcher = StackLauncher(redis_cluster.url, tmp_path)

    def start(**env: str | int | None) -> Stack:
        return launcher(SECURELINK_REDIS_CLUSTER=1, **env)

    yield start
    launcher.stop_all()
