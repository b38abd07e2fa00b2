"""The one script call a request makes, and what its reply says."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from redirector.cluster_pipeline import ClusterPipeline
from redirector.pipeline import ScriptPipeline
from redirector.recording import (
    Recording,
    ServiceTotals,
    Visitor,
    counts_view,
    totals_field,
    visitor_of,
)
from shared.models import FILE_KIND
from shared.scripts import ResolveMode, ResolveReply, ResolveStatus, ScriptRunner
from shared.settings import Settings

# Scope key of what the hot path's script call gave: a reply, or the exception it raised.
RESOLVED = "securelink.resolved"

ResolveCall = Callable[[str, ResolveMode, Visitor | None], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Resolution:
    status: ResolveStatus
    target: str | None = None
    is_file: bool = False
    file_name: str | None = None
    file_size: int | None = None
    content_type: str | None = None
    password_hash: str | None = None
    view_limited: bool = False  # known in peek and preview modes only


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


_FILE_KIND = FILE_KIND.encode()


def is_file_reply(reply: list[Any]) -> bool:
    """True when an OK reply is a file link's (its kind field says so)."""
    return len(reply) > ResolveReply.KIND and reply[ResolveReply.KIND] == _FILE_KIND


def is_view_limited(reply: list[Any]) -> bool:
    """True when a peek reply is a link with maxViews (peek and preview modes carry it)."""
    return len(reply) > ResolveReply.VIEW_LIMITED and bool(reply[ResolveReply.VIEW_LIMITED])


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
        view_limited=bool(reply[ResolveReply.VIEW_LIMITED]),
    )


class Resolver:
    """The one script call a request makes.

    Through the pipeline (one connection, concurrent calls share writes, its own timeouts) on a
    single server, and through one such pipeline per primary on Redis Cluster; through plain
    redis-py (one call at a time, bounded here) only where a test asks for it.
    """

    def __init__(
        self,
        scripts: ScriptRunner | ScriptPipeline | ClusterPipeline,
        recording: Recording,
        settings: Settings,
        totals: ServiceTotals | None = None,
    ):
        self.scripts = scripts
        self.recording = recording
        self.retention = str(settings.retention_seconds)
        self.deadline = settings.redis_timeout_ms / 1000 * 2
        self.pipeline = scripts if isinstance(scripts, ScriptPipeline | ClusterPipeline) else None
        # Given only when the script cannot count the day's totals itself (Redis Cluster).
        self.totals = totals

    def call(self, code: str, mode: ResolveMode, visitor: Visitor | None = None) -> Awaitable[Any]:
        """The script's raw reply; the pipelines bound their own wait, redis-py does not.

        A counting call records `visitor` (referrer host, device class) with the view.
        """
        keys, args = self.recording.call_keys(code), [int(mode), self.retention]
        if visitor is not None:
            args += ["", *visitor]
        if self.pipeline is not None:
            reply = self.pipeline.run("resolve_link", keys, args)
            if self.totals is not None:  # counted when the reply comes: no coroutine a call
                reply.add_done_callback(functools.partial(self._count_done, mode=mode))
            return reply
        return self._bounded(keys, args, mode)

    def _count_done(self, reply: asyncio.Future[Any], *, mode: ResolveMode) -> None:
        if not reply.cancelled() and reply.exception() is None:
            self._count_totals(reply.result(), mode)

    async def _bounded(self, keys: list[str], args: list[Any], mode: ResolveMode) -> Any:
        async with asyncio.timeout(self.deadline):
            reply = await self.scripts.run("resolve_link", keys, args)
        self._count_totals(reply, mode)
        return reply

    def _count_totals(self, reply: Any, mode: ResolveMode) -> None:
        if self.totals is not None:
            field = totals_field(mode, ResolveStatus(reply[ResolveReply.STATUS]))
            if field is not None:
                self.totals.add(field)

    async def resolve(
        self, code: str, mode: ResolveMode, visitor: Visitor | None = None
    ) -> Resolution:
        return parse(await self.call(code, mode, visitor))

    async def resolve_for(self, request: Request, code: str, mode: ResolveMode) -> Resolution:
        """A call for this request: one that may count a view records the request's visitor."""
        visitor = visitor_of(request.scope["headers"]) if counts_view(mode) else None
        return await self.resolve(code, mode, visitor)

    async def resolve_once(self, request: Request, code: str, mode: ResolveMode) -> Resolution:
        """What the hot path's call gave when it made one (never resolve twice), else a call."""
        ready = request.scope.pop(RESOLVED, None)
        if ready is None:
            return await self.resolve_for(request, code, mode)
        if isinstance(ready, BaseException):
            raise ready
        return parse(ready)
