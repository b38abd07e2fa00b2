"""The redirector's per-primary pipelines on a real cluster: routing, MOVED, ASK."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis
from redis.crc import key_slot

from devtools.redis_cluster import RedisClusterServers
from devtools.redis_server import free_port
from redirector.cluster_pipeline import ClusterPipeline
from shared.endpoint import RedisEndpoint
from shared.keys import Keys
from shared.scripts import ResolveMode, ResolveStatus, load_scripts
from shared.settings import Settings
from shared.store import connect

NOT_FOUND = [int(ResolveStatus.NOT_FOUND)]


def _with_pipeline(
    cluster: RedisClusterServers, body: Callable[[ClusterPipeline, Keys], Awaitable[Any]]
) -> Any:
    settings = Settings(redis=RedisEndpoint.from_url(cluster.url), redis_cluster=True)

    async def run() -> Any:
        client = connect(settings)
        pipeline = ClusterPipeline(client, settings.require_redis(), load_scripts(), timeout=5)
        try:
            await pipeline.start()
            return await body(pipeline, Keys("t" + uuid.uuid4().hex[:12]))
        finally:
            await pipeline.aclose()
            await client.aclose()

    return asyncio.run(run())


def _resolve(pipeline: ClusterPipeline, keys: Keys, code: str) -> asyncio.Future[Any]:
    return pipeline.run("resolve_link", [keys.link(code)], [int(ResolveMode.PEEK), "60"])


def test_concurrent_calls_reach_every_primary_in_shared_writes(
    redis_cluster: RedisClusterServers,
) -> None:
    async def body(pipeline: ClusterPipeline, keys: Keys) -> tuple[list[Any], int, int]:
        codes = [f"c{index}" for index in range(300)]
        replies = await asyncio.gather(*[_resolve(pipeline, keys, code) for code in codes])
        return replies, len(pipeline.nodes), pipeline.writes()

    replies, nodes, writes = _with_pipeline(redis_cluster, body)

    assert replies == [NOT_FOUND] * 300
    assert nodes == 3
    assert writes <= 6  # one write per primary, and one more each for the EVAL after NOSCRIPT


def test_a_stale_slot_map_follows_moved_to_the_right_primary(
    redis_cluster: RedisClusterServers,
) -> None:
    async def body(pipeline: ClusterPipeline, keys: Keys) -> tuple[list[Any], int]:
        await asyncio.gather(*[_resolve(pipeline, keys, f"w{i}") for i in range(30)])
        wrong = next(iter(pipeline.nodes))
        pipeline._slots = [wrong] * len(pipeline._slots)  # as if every slot had moved there
        replies = await asyncio.gather(*[_resolve(pipeline, keys, f"m{i}") for i in range(30)])
        await asyncio.sleep(0.5)  # the background refresh
        return replies, len(set(pipeline._slots))

    replies, primaries_in_map = _with_pipeline(redis_cluster, body)

    assert replies == [NOT_FOUND] * 30
    assert primaries_in_map == 3


def test_ask_during_a_slot_migration_sends_asking_first(
    redis_cluster: RedisClusterServers,
) -> None:
    keys = Keys("t" + uuid.uuid4().hex[:12])
    key = keys.link("asked")
    source = redis_cluster.primary_of(key)
    target = next(s for s in redis_cluster.servers if s.port != source.port)
    slot = key_slot(key.encode())
    src = redis.Redis(port=source.port, decode_responses=True)
    dst = redis.Redis(port=target.port, decode_responses=True)
    source_id = src.execute_command("CLUSTER MYID")  # type: ignore[no-untyped-call]
    target_id = dst.execute_command("CLUSTER MYID")  # type: ignore[no-untyped-call]
    dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", source_id)  # type: ignore[no-untyped-call]
    src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", target_id)  # type: ignore[no-untyped-call]

    async def body(pipeline: ClusterPipeline, _: Keys) -> Any:
        return await pipeline.run("resolve_link", [key], [int(ResolveMode.PEEK), "60"])

    try:
        # The key is not on the source: it answers ASK; without ASKING the target says MOVED.
        reply = _with_pipeline(redis_cluster, body)
    finally:
        for node in (src, dst):
            node.execute_command("CLUSTER SETSLOT", slot, "NODE", source_id)  # type: ignore[no-untyped-call]
            node.close()

    assert reply == NOT_FOUND


def test_a_refused_node_fails_its_calls_and_the_map_is_read_again(
    redis_cluster: RedisClusterServers,
) -> None:
    async def body(pipeline: ClusterPipeline, keys: Keys) -> tuple[list[Any], int, int]:
        await _resolve(pipeline, keys, "warm")
        before = pipeline.refreshes
        nobody = ("127.0.0.1", free_port())
        pipeline._slots = [nobody] * len(pipeline._slots)  # as if every primary were gone
        failed = await asyncio.gather(
            *[_resolve(pipeline, keys, f"r{i}") for i in range(20)], return_exceptions=True
        )
        assert pipeline._refreshing is not None
        await pipeline._refreshing  # told once by the refused connect, not once a call
        replies = await asyncio.gather(*[_resolve(pipeline, keys, f"r{i}") for i in range(20)])
        return [type(error) for error in failed], pipeline.refreshes - before, len(replies)

    errors, refreshes, answered = _with_pipeline(redis_cluster, body)

    assert errors == [redis.ConnectionError] * 20
    assert refreshes == 1
    assert answered == 20
