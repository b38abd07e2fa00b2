"""Run one Lua script at a time against the suite's real server, under this test's prefix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import redis

from shared.keys import Keys
from shared.scripts import load_scripts

SCRIPTS = load_scripts()


class Lua:
    """lua("resolve_link", keys, args): EVAL of the project's script, reply as redis-py gives it."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def __call__(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        source = SCRIPTS[name].source.decode()
        return self.client.eval(source, len(keys), *keys, *args)


@pytest.fixture
def keys(key_prefix: str) -> Keys:
    return Keys(key_prefix)


@pytest.fixture
def lua(redis_sync: redis.Redis, keys: Keys) -> Lua:
    return Lua(redis_sync, keys)
