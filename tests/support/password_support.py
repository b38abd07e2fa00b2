"""The redirector in-process (lifespan included) on the suite's Redis, and links stored by hand."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import redis
from argon2 import PasswordHasher, profiles
from redis.typing import EncodableT, FieldT
from starlette.applications import Starlette

from redirector.app import create_app
from shared.endpoint import RedisEndpoint
from shared.keys import Keys
from shared.settings import Settings
from tests.support.raw import raw_hash

T = TypeVar("T")

BASE_URL = "http://sl.test"
TARGET = "https://target.example/secret-page"
PASSWORD = "correct horse battery staple"
CHEAP = PasswordHasher.from_parameters(profiles.CHEAPEST)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def settings_for(redis_url: str, key_prefix: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis": RedisEndpoint.from_url(redis_url),
        "key_prefix": key_prefix,
        "argon2_profile": "test",
        "data_dir": tmp_path,
        **overrides,
    }
    return Settings(**values)


@dataclass
class Redirector:
    app: Starlette

    def client(self, host: str = "203.0.113.1") -> httpx.AsyncClient:
        """A client that the app sees coming from `host`."""
        transport = httpx.ASGITransport(app=self.app, client=(host, 50000))
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@contextlib.asynccontextmanager
async def redirector(settings: Settings) -> AsyncIterator[Redirector]:
    """The app with its lifespan run: Redis client, scripts and hasher made, then closed."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield Redirector(app)


def store_link(
    client: redis.Redis,
    key_prefix: str,
    *,
    target: str = TARGET,
    max_views: int | None = None,
    password: str | None = PASSWORD,
    password_hash: str | None = None,
) -> str:
    """A link written straight into Redis, the way the admin API stores it; its code."""
    code = secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")
    fields: dict[FieldT, EncodableT] = {"t": target, "c": "1767225600"}
    if max_views is not None:
        fields["m"] = str(max_views)
    if password_hash is None and password is not None:
        password_hash = CHEAP.hash(password)
    if password_hash is not None:
        fields["p"] = password_hash
    client.hset(Keys(key_prefix).link(code), mapping=fields)
    return code


def views(client: redis.Redis, key_prefix: str, code: str) -> int:
    return int(client.hget(Keys(key_prefix).link(code), "v") or 0)


def dump_prefix(client: redis.Redis, key_prefix: str) -> dict[bytes, bytes]:
    """Every key under the prefix with every value it holds, raw bytes."""
    found: dict[bytes, bytes] = {}
    for key in client.scan_iter(match=f"{key_prefix}:*", count=1000):
        kind = client.type(key)
        if kind == b"hash":
            value = b"|".join(k + b"=" + v for k, v in raw_hash(client, key).items())
        elif kind == b"string":
            value = cast(bytes | None, client.get(key)) or b""
        elif kind == b"stream":
            entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(key))
            value = b"|".join(k + b"=" + v for _, e in entries for k, v in e.items())
        else:
            value = repr(client.dump(key)).encode()
        found[key] = value
    return found
