"""The one script call a request makes, and what its reply says."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from redirector.pipeline import ScriptPipeline
from shared.keys import Keys
from shared.models import FILE_KIND
from shared.scripts import ResolveMode, ResolveReply, ResolveStatus, ScriptRunner
from shared.settings import Settings

# Scope key of what the hot path's script call gave: a reply, or the exception it raised.
RESOLVED = "securelink.resolved"

ResolveCall = Callable[[str, ResolveMode], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Resolution:
    status: ResolveStatus
    target: str | None = None
    is_file: bool = False
    file_name: str | None = None
    file_size: int | None = None
    content_type: str | None = None
    password_hash: str | None = None


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


_FILE_KIND = FILE_KIND.encode()


def is_file_reply(reply: list[Any]) -> bool:
    """True when an OK reply is a file link's (its kind field says so)."""
    return len(reply) > ResolveReply.KIND and reply[ResolveReply.KIND] == _FILE_KIND


def parse(reply: list[Any]) -> Resolution:
    """resolve_link's reply as a Resolution."""
    status = ResolveStatus(reply[ResolveReply.STATUS])
    if len(reply) == 1:
        return Resolution(status)
    # Lua drops trailing nils on some servers: absent fields may be missing, not None.
    reply = [*reply, *[None] * (len(ResolveReply) - len(reply))]
    size = _text(reply[ResolveReply.FILE_SIZE])
    return Resolution(
        status,
        target=_text(reply[ResolveReply.TARGET]),
        is_file=reply[ResolveReply.KIND] == _FILE_KIND,
        file_name=_text(reply[ResolveReply.FILE_NAME]),
        file_size=int(size) if size is not None else None,
        content_type=_text(reply[ResolveReply.CONTENT_TYPE]),
        password_hash=_text(reply[ResolveReply.PASSWORD_HASH]),
    )


class Resolver:
    """The one script call a request makes.

    Through the pipeline (one connection, concurrent calls share writes, its own timeouts) on a
    single server; through redis-py's cluster client, one call at a time, on Redis Cluster.
    """

    def __init__(self, scripts: ScriptRunner | ScriptPipeline, keys: Keys, settings: Settings):
        self.scripts = scripts
        self.keys = keys
        self.retention = str(settings.retention_seconds)
        self.deadline = settings.redis_timeout_ms / 1000 * 2
        self.pipelined = isinstance(scripts, ScriptPipeline)

    def call(self, code: str, mode: ResolveMode) -> Awaitable[Any]:
        """The script's raw reply; the pipeline bounds its own wait, the cluster client does not."""
        keys, args = [self.keys.link(code)], [int(mode), self.retention]
        if self.pipelined:
            return self.scripts.run("resolve_link", keys, args)
        return self._bounded(keys, args)

    async def _bounded(self, keys: list[str], args: list[Any]) -> Any:
        async with asyncio.timeout(self.deadline):
            return await self.scripts.run("resolve_link", keys, args)

    async def resolve(self, code: str, mode: ResolveMode) -> Resolution:
        return parse(await self.call(code, mode))

    async def resolve_once(self, request: Request, code: str, mode: ResolveMode) -> Resolution:
        """What the hot path's call gave when it made one (never resolve twice), else a call."""
        ready = request.scope.pop(RESOLVED, None)
        if ready is None:
            return await self.resolve(code, mode)
        if isinstance(ready, BaseException):
            raise ready
        return parse(ready)
