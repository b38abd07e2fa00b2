"""Plain redirects written by the HTTP protocol itself: no ASGI task, no send() coroutines.

Why: with redirector/hotpath.py answering before Starlette, a redirect's Python time under wrk
still went mostly to uvicorn's per-request ASGI machinery: a Task and its coroutines (run_asgi,
the app, two awaits of send), every header checked by two regular expressions and joined one
by one. Node's http module does none of that, and the Node anchor was ahead (README,
Performance).

How: uvicorn still parses the request and makes its RequestResponseCycle, so keep-alive,
HTTP/1.0, `Connection: close`, pipelined requests waiting their turn, graceful shutdown,
client disconnects and the limits of shared/http_limits.py all stay uvicorn's and ours as
before. Only where uvicorn would start the ASGI task for a cycle (never while an earlier
response on the connection is unfinished) this protocol asks the app's `hot_path` first
(EarlyAnswers): it may start the request's work, a future, and when that is done give the
response head. The head is written here in one write, the very bytes uvicorn's send() would
write (status line, uvicorn's default headers, the app's, `connection: close` when the
connection ends). Any other outcome starts the ASGI task after all, with what was found left in
the scope by the hot path, so nothing is resolved twice.

An app without `hot_path` (the admin API) is served exactly as before; so is any app under
granian, which never uses this class (there the same hot path answers through ASGI).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from functools import partial
from typing import Any, Protocol, cast

from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from shared.http_limits import BoundedHttpToolsProtocol

_CLOSE = b"connection: close\r\n"


class EarlyAnswers(Protocol):
    """What an app offers as `app.hot_path` (redirector/hotpath.py's HotPath)."""

    def offer(self, scope: dict[str, Any]) -> Awaitable[Any] | None:
        """The request's work started, when the app may answer it early; None: ASGI answers."""

    def head(self, scope: dict[str, Any], done: asyncio.Future[Any]) -> tuple[int, bytes] | None:
        """Status and header lines once the work is done; None: ASGI answers (the scope says
        what was found)."""

    def sent(self, scope: dict[str, Any]) -> None:
        """The response is written (or its client is gone)."""


class _DefaultHeaders:
    """uvicorn's default headers (its Date, renewed every second) as lines, made once a list."""

    def __init__(self) -> None:
        self._list: list[tuple[bytes, bytes]] | None = None
        self._lines = b""

    def lines(self, headers: list[tuple[bytes, bytes]]) -> bytes:
        if headers is not self._list:
            self._list = headers
            self._lines = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        return self._lines


_DEFAULTS = _DefaultHeaders()


class FastLaneProtocol(BoundedHttpToolsProtocol):
    """The bounded protocol, writing the answers an app's hot path gives without ASGI."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        early: EarlyAnswers | None = getattr(app, "hot_path", None)
        pending = early.offer(cast(dict[str, Any], cycle.scope)) if early is not None else None
        if early is None or pending is None:
            super()._start_asgi_task(cycle, app)
            return
        # A script call's future as it is: a callback when it is done, no Task.
        asyncio.ensure_future(pending).add_done_callback(partial(self._done, cycle, app, early))

    def _done(
        self,
        cycle: RequestResponseCycle,
        app: ASGI3Application,
        early: EarlyAnswers,
        done: asyncio.Future[Any],
    ) -> None:
        scope = cast(dict[str, Any], cycle.scope)
        try:
            if done.cancelled():  # nobody cancels a script call: nothing is known to answer
                self.transport.close()
                return
            head = early.head(scope, done)
            if head is None:
                super()._start_asgi_task(cycle, app)  # the app answers, with the reply found
            elif self.flow.write_paused and not cycle.disconnected:
                # As send() does: wait until the client reads, in a task as the app would have.
                task = self.loop.create_task(self._write_when_drained(cycle, early, *head))
                task.add_done_callback(self.tasks.discard)
                self.tasks.add(task)
            else:
                self._write(cycle, *head)
                early.sent(scope)
        except Exception as exc:  # never a connection left hanging on a bug of ours
            self.logger.error("Exception in the fast lane", exc_info=exc)
            self.transport.close()

    async def _write_when_drained(
        self, cycle: RequestResponseCycle, early: EarlyAnswers, status: int, head: bytes
    ) -> None:
        await self.flow.drain()
        self._write(cycle, status, head)
        early.sent(cast(dict[str, Any], cycle.scope))

    def _write(self, cycle: RequestResponseCycle, status: int, head: bytes) -> None:
        """The whole response (a head, no body) in one write, then what send() does after."""
        if cycle.disconnected:
            return  # as send(): nothing to write to, and the connection is gone already
        keep_alive = cycle.keep_alive  # False after HTTP/1.0, Connection: close, a shutdown
        self.transport.write(
            b"".join(
                (
                    STATUS_LINE[status],
                    _DEFAULTS.lines(cycle.default_headers),
                    head,
                    b"\r\n" if keep_alive else _CLOSE + b"\r\n",
                )
            )
        )
        if cycle.access_log:
            scope = cycle.scope
            cycle.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(scope),
                scope["method"],
                get_path_with_query_string(scope),
                scope["http_version"],
                status,
            )
        cycle.response_started = cycle.response_complete = True
        cycle.message_event.set()
        if not keep_alive:
            self.transport.close()
        cycle.on_response()  # the next pipelined request, or the keep-alive timer
