"""The Redis connection: tight timeouts, no blind retries (a retried script may count twice)."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import ConnectionPool, Redis, RedisCluster, SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    BusyLoadingError,
    ClusterDownError,
    ClusterError,
    MaxConnectionsError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.endpoint import RedisEndpoint
from shared.settings import Settings

try:
    from redis.maint_notifications import MaintNotificationsConfig

    # Left on ("auto" under RESP3), the pool skips its stale-connection check on checkout, so
    # the first command after a Redis restart fails on a dead socket instead of reconnecting
    # first; and a maintenance notice would relax the timeouts to 10 s.
    _MAINTENANCE_OFF: dict[str, Any] = {
        "maint_notifications_config": MaintNotificationsConfig(enabled=False)
    }
except ImportError:  # redis-py before 7 has no maintenance notifications
    _MAINTENANCE_OFF = {}

try:
    from redis.driver_info import DriverInfo

    # No CLIENT SETINFO round trips on each new connection: 1000 concurrent requests open their
    # connections at once, and each extra round trip is a turn of a busy event loop.
    _NO_SETINFO: dict[str, Any] = {"driver_info": DriverInfo(name=None, lib_version=None)}
except ImportError:  # redis-py before 7.2 names them lib_name and lib_version
    _NO_SETINFO = {"lib_name": None, "lib_version": None}

# Connections one process may hold per server (per primary on a cluster). redis-py's default of
# 100 refused the 101st concurrent request with a 503 while Redis was idle; a request holds at
# most one connection at a time, so this is the concurrency a process serves without waiting.
POOL_SIZE = 128
CLUSTER_POOL_SIZE = 4096  # per node; redis-py's cluster pool has no wait (see connect)

# The one table of redis-py's exceptions that mean "the store cannot serve now", as opposed to
# a bug: every caller catches this tuple and answers 503. A full server (OOM) and a replica or
# a primary mid-failover (READONLY) recover without our help. The redirector's pipeline raises
# the same classes (redirector/pipeline.py's as_error), so this table covers it too. On a
# cluster, redis-py raises RedisClusterException (not a RedisError) when no node answers,
# SlotNotCoveredError while a slot has no primary, and MaxConnectionsError when a node's pool
# is used up; ClusterError covers the rest of its topology failures (MASTERDOWN among them).
REDIS_UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,
    ClusterDownError,
    ClusterError,
    TryAgainError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    SlotNotCoveredError,
    MaxConnectionsError,
    asyncio.TimeoutError,
)


class WaitingConnectionPool(ConnectionPool):
    """A pool that makes a request wait for a free connection, at most `timeout` seconds.

    redis-py's BlockingConnectionPool hands connections over through one Condition, one waiter
    a loop turn, so under 1000 concurrent requests most waited past any sane timeout while
    Redis was idle. A semaphore wakes as many waiters in one turn as connections came back.
    """

    def __init__(self, *, timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout
        self._free = asyncio.Semaphore(self.max_connections)

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self._free.locked():
            try:
                async with asyncio.timeout(self.timeout):
                    await self._free.acquire()
            except TimeoutError:
                raise RedisConnectionError("No connection available.") from None
        else:
            await self._free.acquire()
        try:
            async with self._lock:
                connection = self.get_available_connection()  # type: ignore[no-untyped-call]
        except BaseException:
            self._free.release()
            raise
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)  # gives the place back too
            raise
        return connection

    async def release(self, connection: Any) -> None:
        try:
            await super().release(connection)
        finally:
            self._free.release()


def endpoint_options(endpoint: RedisEndpoint) -> dict[str, Any]:
    """redis-py's keyword arguments for the endpoint: where, who, and TLS for rediss://.

    The one translation of settings.redis into redis-py's terms; the client is never handed the
    URL, so it cannot read it differently from the redirector's pipelines.
    """
    options: dict[str, Any] = {
        "host": endpoint.host,
        "port": endpoint.port,
        "username": endpoint.username,
        "password": endpoint.password,
    }
    tls = endpoint.tls
    if tls is not None:
        options.update(
            ssl_ca_certs=tls.ca_certs,
            ssl_cert_reqs=tls.cert_reqs,
            ssl_check_hostname=tls.check_hostname,
            ssl_certfile=tls.certfile,
            ssl_keyfile=tls.keyfile,
        )
    return options


def connect(settings: Settings, **overrides: Any) -> Any:
    """A client that never resends a command: a script whose reply was lost may have counted.

    redis-py's Redis(host=...) retries a failed command 10 times by default, re-sending it on a
    new connection; Retry(NoBackoff(), 0) turns that off for commands and scripts alike. A pooled
    connection that went stale while Redis restarted is still replaced before anything is sent
    (the pool checks it on checkout), which is safe: only a resend after sending is not.
    """
    endpoint = settings.require_redis()
    timeout = settings.redis_timeout_ms / 1000
    options: dict[str, Any] = {
        **endpoint_options(endpoint),
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # The asyncio Retry: the sync one would skip the disconnect-on-failure callback.
        "retry": Retry(NoBackoff(), 0),
        "retry_on_error": [],
        "health_check_interval": 0,
        **_MAINTENANCE_OFF,
        "decode_responses": False,
        **_NO_SETINFO,
        **overrides,
    }
    if settings.redis_cluster:
        # A cluster node's pool cannot wait: past max_connections it raises MaxConnectionsError
        # (a 503), so it may open as many connections as requests come at once.
        options.setdefault("max_connections", CLUSTER_POOL_SIZE)
        # Slots of a lost primary are missing until its replica takes over; the other links
        # must keep working meanwhile, as the server's cluster-require-full-coverage no allows.
        options.setdefault("require_full_coverage", False)
        # A cluster has database 0 only: redis-py refuses any other db, as it did the URL's.
        return RedisCluster(db=endpoint.db, ssl=endpoint.tls is not None, **options)
    # A blocking pool: past POOL_SIZE a request waits for a free connection, at most the Redis
    # timeout, instead of being refused at once.
    options.setdefault("max_connections", POOL_SIZE)
    options.setdefault("timeout", timeout)
    if endpoint.tls is not None:
        options["connection_class"] = SSLConnection
    return Redis.from_pool(WaitingConnectionPool(db=endpoint.db, **options))
