"""The Redis connection: tight timeouts, no blind retries (a retried script may count twice)."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    BusyLoadingError,
    ClusterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

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

# The one table of redis-py's exceptions that mean "the store cannot serve now", as opposed to
# a bug: every caller catches this tuple and answers 503. A full server (OOM) and a replica or
# a primary mid-failover (READONLY) recover without our help. The redirector's pipeline raises
# the same classes (redirector/pipeline.py's as_error), so this table covers it too.
REDIS_UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,
    ClusterDownError,
    TryAgainError,
    OutOfMemoryError,
    ReadOnlyError,
    asyncio.TimeoutError,
)


def connect(settings: Settings, **overrides: Any) -> Any:
    """A client that never resends a command: a script whose reply was lost may have counted.

    redis-py's Redis(host=...) retries a failed command 10 times by default, re-sending it on a
    new connection; Retry(NoBackoff(), 0) turns that off for commands and scripts alike. A pooled
    connection that went stale while Redis restarted is still replaced before anything is sent
    (the pool checks it on checkout), which is safe: only a resend after sending is not.
    """
    url = settings.require_redis_url()
    timeout = settings.redis_timeout_ms / 1000
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # The asyncio Retry: the sync one would skip the disconnect-on-failure callback.
        "retry": Retry(NoBackoff(), 0),
        "retry_on_error": [],
        "health_check_interval": 0,
        **_MAINTENANCE_OFF,
        "decode_responses": False,
        **overrides,
    }
    if settings.redis_cluster:
        return RedisCluster.from_url(url, **options)
    return Redis.from_url(url, **options)
