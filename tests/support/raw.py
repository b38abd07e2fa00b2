"""Typed reads from a Redis client that decodes nothing (decode_responses=False): bytes."""

from __future__ import annotations

from typing import cast

import redis


def raw_hash(client: redis.Redis, key: str | bytes) -> dict[bytes, bytes]:
    """HGETALL: every field of the hash and its value."""
    return cast(dict[bytes, bytes], client.hgetall(key))


def raw_field(client: redis.Redis, key: str | bytes, field: str) -> bytes | None:
    """HGET: one field's value, None when the field is absent."""
    return cast(bytes | None, client.hget(key, field))
