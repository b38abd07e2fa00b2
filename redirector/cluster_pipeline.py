"""Script calls on Redis Cluster: one auto-pipeline (redirector/pipeline.py) per primary.

Each call goes to the primary that serves its key's slot, through that primary's own
ScriptPipeline, so concurrent requests share writes exactly as they do on one server. The slot
map comes from redis-py's node manager (CLUSTER SLOTS), read at start-up and again whenever the
cluster says it changed.

The rule of the single-server pipeline holds: a call that was sent is never sent again, because
a lost reply may have counted a view. The exceptions are replies that prove the script did not
run: NOSCRIPT (handled by the node's pipeline), MOVED (the slot lives elsewhere now: the map is
refreshed and the call goes to the named node) and ASK (the slot is migrating: the call goes to
the named node once, after ASKING). TRYAGAIN, CLUSTERDOWN, a timeout or a lost node fail the
call (a 503) and refresh the map, so the calls after a failover reach the promoted replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import (
    ClusterDownError,
    RedisError,
    SlotNotCoveredError,
)

from redirector.pipeline import MAX_PENDING, MAX_WRITE_BATCH, Call, ScriptPipeline
from shared.endpoint import RedisEndpoint
from shared.scripts import Script
from shared.store import REDIS_UNAVAILABLE

logger = logging.getLogger("securelink")

MAX_REDIRECTS = 5  # MOVED or ASK replies one call may follow; more means the map is churning
REFRESH_INTERVAL = 0.1  # seconds between two reads of the slot map, however many calls fail

Address = tuple[str, int]


class ClusterPipeline:
    """Runs scripts by digest on the primary of each call's slot, one pipeline per primary."""

    def __init__(
        self,
        cluster: RedisCluster,
        endpoint: RedisEndpoint,
        scripts: dict[str, Script],
        *,
        timeout: float,
        max_batch: int = MAX_WRITE_BATCH,
        max_pending: int = MAX_PENDING,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.cluster = cluster  # redis-py's client: its node manager reads the slot map
        # Credentials and TLS from settings.redis; host and port from the map. One db: 0.
        self.endpoint = dataclasses.replace(endpoint, db=0)
        self.scripts = scripts
        self.timeout = timeout
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.on_batch = on_batch
        self.nodes: dict[Address, ScriptPipeline] = {}
        self.refreshes = 0  # slot-map reads, for tests
        self._slots: list[Address | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
        self._unrouted: list[tuple[str, Sequence[Any], Sequence[Any], asyncio.Future[Any]]] = []
        self._stale = False
        self._refreshing: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        """Read the slot map once; a cluster that is down now is read again on the first call."""
        with contextlib.suppress(*REDIS_UNAVAILABLE):
            async with asyncio.timeout(self.timeout * 2):
                await self.cluster.initialize()
            self._load_map()

    def writes(self) -> int:
        """Batches written over all primaries, for tests and the benchmark."""
        return sum(node.writes for node in self.nodes.values())

    def run(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> asyncio.Future[Any]:
        """Queue one script call on its slot's primary; await the future for its reply."""
        address = self._slots[_slot(keys[0])]
        if address is None:  # no map yet, or a slot without a primary: wait for a fresh map
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._unrouted.append((name, keys, args, future))
            self.refresh_soon()
            return future
        return self._node(address).run(name, keys, args)

    def _node(self, address: Address) -> ScriptPipeline:
        node = self.nodes.get(address)
        if node is None:
            host, port = address
            node = ScriptPipeline(
                dataclasses.replace(self.endpoint, host=host, port=port),
                self.scripts,
                timeout=self.timeout,
                max_batch=self.max_batch,
                max_pending=self.max_pending,
                on_batch=self.on_batch,
            )
            node.redirect = self._redirect
            node.on_failure = self._on_failure
            self.nodes[address] = node
        return node

    def _on_failure(self, error: BaseException) -> None:
        """Once a failure, not once a call: a node's pipeline tells each lost connection, refused
        connect, timeout or error reply once, however many calls it failed."""
        if isinstance(error, REDIS_UNAVAILABLE) and not self._closing:
            self.refresh_soon()  # a lost node, TRYAGAIN, CLUSTERDOWN: the map may have changed

    def _redirect(self, call: Call, message: str) -> None:
        """MOVED or ASK: the script did not run, so the named node may run it, once."""
        kind, slot, where = message.split(" ", 2)
        host, _, port = where.rpartition(":")
        call.redirects += 1
        if call.redirects > MAX_REDIRECTS:
            if not call.future.done():
                call.future.set_exception(ClusterDownError(f"Too many redirections: {message}"))
            self.refresh_soon()
            return
        address = (host or self.endpoint.host, int(port))
        call.asking = kind == "ASK"
        if not call.asking:
            self._slots[int(slot)] = address  # as the cluster said; the full map follows
            self.refresh_soon()
        self._node(address).requeue(call)

    def refresh_soon(self) -> None:
        """Read the slot map again, at most every REFRESH_INTERVAL, in the background."""
        self._stale = True
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        while self._stale:
            self._stale = False
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.timeout * 2):
                    await self.cluster.nodes_manager.initialize()
                self._load_map()
            except (*REDIS_UNAVAILABLE, RedisError) as exc:
                logger.debug("cluster slot map not read: %s", exc)
            self._route_unrouted()
            await asyncio.sleep(max(0.0, REFRESH_INTERVAL - (time.monotonic() - started)))

    def _load_map(self) -> None:
        slots: list[Address | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
        for slot, nodes in self.cluster.nodes_manager.slots_cache.items():
            if nodes:
                slots[slot] = (nodes[0].host, int(nodes[0].port))
        self._slots = slots
        self.refreshes += 1

    def _route_unrouted(self) -> None:
        waiting, self._unrouted = self._unrouted, []
        for name, keys, args, future in waiting:
            if future.done():
                continue
            address = self._slots[_slot(keys[0])]
            if address is None:
                future.set_exception(SlotNotCoveredError("No primary serves this link's slot"))
                future.exception()
                continue
            routed = self._node(address).run(name, keys, args)
            routed.add_done_callback(functools.partial(_copy, future=future))

    async def aclose(self) -> None:
        """Close every primary's connection; calls in flight fail with a connection error."""
        self._closing = True  # the connections it closes start no refresh
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing
        for _, _, _, future in self._unrouted:
            if not future.done():
                future.set_exception(SlotNotCoveredError("Connection closed"))
                future.exception()
        self._unrouted = []
        for node in self.nodes.values():
            await node.aclose()


def _slot(key: Any) -> int:
    return key_slot(key.encode() if isinstance(key, str) else key)


def _copy(done: asyncio.Future[Any], *, future: asyncio.Future[Any]) -> None:
    if future.done():
        return
    if done.cancelled():
        future.cancel()
    elif (error := done.exception()) is not None:
        future.set_exception(error)
    else:
        future.set_result(done.result())
