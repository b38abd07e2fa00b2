"""The Redis connection: tight timeouts and no blind retries, because a retried script may count twice."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.backoff import NoBackoff
from redis.exceptions import BusyLoadingError, ClusterDownError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from shared.settings import Settings

# Errors that mean "the store is not answering now", as opposed to a bug: they become 503.
UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,
    ClusterDownError,
    TryAgainError,
    asyncio.TimeoutError,
)


def connect(settings: Settings, **overrides: Any) -> Any:
    """A client that never resends a command: a script whose reply was lost may have counted."""
    url = settings.require_redis_url()
    timeout = settings.redis_timeout_ms / 1000
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        "decode_responses": False,
        **overrides,
    }
    if settings.redis_cluster:
        return RedisCluster.from_url(url, **options)
    return Redis.from_url(url, **options)
