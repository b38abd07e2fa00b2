"""Script calls of concurrent requests, written to Redis together on one dedicated connection.

redis-py's asyncio client costs more per command than Redis does per script, so the redirector
sends its EVALSHAs through this client instead: the first call of a loop tick schedules a flush
with `call_soon` (never a timer), every call made before that flush runs leaves in the same
write, and replies are handed back in order, each to its own caller.

Counting scripts are never resent: when the connection is lost or a reply is late, every call
in flight fails (a lost reply may have counted) and the next call opens a new connection. The
one resend is after NOSCRIPT, which means the script did not run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import hiredis
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.endpoint import RedisEndpoint
from shared.scripts import Script

MAX_WRITE_BATCH = 512  # commands in one write; the rest leave on the next loop tick
MAX_PENDING = 10_000  # queued plus in flight; past it a call fails at once (a 503)
# Script arguments repeat (modes, the retention, referrer hosts, device letters): their RESP
# encoding is kept, up to this many, so a call packs only its keys afresh.
MAX_ENCODED_ARGS = 4096

_ERRORS: dict[str, type[RedisError]] = {
    "NOSCRIPT": NoScriptError,
    "LOADING": BusyLoadingError,
    "READONLY": ReadOnlyError,
    "NOAUTH": AuthenticationError,
    "WRONGPASS": AuthenticationError,
    "OOM": OutOfMemoryError,
    "TRYAGAIN": TryAgainError,
    "CLUSTERDOWN": ClusterDownError,
    "MASTERDOWN": RedisConnectionError,
}


_ASKING = b"*1\r\n$6\r\nASKING\r\n"


class PipelineFull(RedisConnectionError):
    """Too many calls are waiting for Redis: fail fast rather than queue without bound."""


def as_error(reply: hiredis.ReplyError) -> RedisError:
    """redis-py's exception for an error reply, so callers catch what they already catch."""
    message = str(reply)
    if message.startswith("ERR max number of clients reached"):
        return RedisConnectionError(message)  # as redis-py maps it: the server is full, a 503
    code, _, rest = message.partition(" ")
    kind = _ERRORS.get(code)
    return kind(rest) if kind is not None else ResponseError(message)


def _bulk(value: Any) -> bytes:
    if type(value) is str:  # the common case first: keys and most arguments
        data = value.encode()
    elif isinstance(value, bytes):
        data = value
    elif isinstance(value, str):
        data = value.encode()
    elif isinstance(value, int):
        data = b"%d" % value
    else:
        data = str(value).encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


def pack(*parts: Any) -> bytes:
    """One command in RESP: an array of bulk strings."""
    return b"*%d\r\n" % len(parts) + b"".join(_bulk(part) for part in parts)


@dataclass(slots=True)
class Call:
    """One script call; `payload` is what goes on the wire (EVALSHA, or EVAL after NOSCRIPT)."""

    script: Script
    keys: Sequence[Any]
    args: Sequence[Any]
    future: asyncio.Future[Any]
    payload: bytes = b""
    evaluated: bool = False
    asking: bool = False  # sent after ASKING: the cluster moves its slot to this node (ASK)
    redirects: int = 0  # MOVED and ASK replies so far


@dataclass(slots=True)
class _Waiter:
    """A handshake command's reply (AUTH, SELECT)."""

    future: asyncio.Future[Any]


def handshake(endpoint: RedisEndpoint) -> list[bytes]:
    """The commands a new connection sends first: AUTH with the credentials, SELECT the db."""
    commands = []
    if endpoint.password is not None:
        auth = (endpoint.username, endpoint.password) if endpoint.username else (endpoint.password,)
        commands.append(pack("AUTH", *auth))
    if endpoint.db:
        commands.append(pack("SELECT", endpoint.db))
    return commands


class _Connection(asyncio.Protocol):
    """One socket: writes batches, and hands each reply to the oldest waiter."""

    def __init__(self, owner: ScriptPipeline) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader()
        self.waiting: deque[Call | _Waiter] = deque()
        self.answered = 0  # replies received so far
        self.sent = 0  # commands written so far
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def write(self, data: bytes, waiters: Sequence[Call | _Waiter]) -> None:
        assert self.transport is not None
        self.waiting.extend(waiters)
        self.sent += len(waiters)
        try:
            self.transport.write(data)
        except Exception as exc:  # a transport already closing: its calls fail, none linger
            self.abort(RedisConnectionError(f"Error writing to Redis: {exc}"))

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        waiting = self.waiting
        try:
            while (reply := reader.gets()) is not False:
                self.answered += 1
                if not waiting:
                    raise hiredis.ProtocolError("a reply nobody asked for")
                waiter = waiting.popleft()
                if isinstance(reply, hiredis.ReplyError):
                    self._on_error(waiter, reply)
                elif not waiter.future.done():
                    waiter.future.set_result(reply)
        except hiredis.ProtocolError as exc:
            self.abort(RedisConnectionError(f"Redis protocol error: {exc}"))

    def _on_error(self, waiter: Call | _Waiter, reply: hiredis.ReplyError) -> None:
        redirect = self.owner.redirect
        if redirect is not None and isinstance(waiter, Call):
            message = str(reply)
            if message.startswith(("MOVED ", "ASK ")):
                redirect(waiter, message)  # the script did not run: its node decides
                return
        error = as_error(reply)
        if isinstance(waiter, Call) and isinstance(error, NoScriptError):
            # NOSCRIPT: the script did not run, so EVAL (which also caches it again) is safe.
            self.owner.resend_as_eval(waiter)
            return
        if not waiter.future.done():
            waiter.future.set_exception(error)
        self.owner.failed(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self.abort(RedisConnectionError("Connection to Redis lost; the command may have run"))

    def abort(self, error: RedisError) -> None:
        """Fail every call in flight with `error` and close: none is sent again."""
        if self.closed:
            return
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        while self.waiting:
            future = self.waiting.popleft().future
            if not future.done():
                future.set_exception(error)
                future.exception()  # a caller that gave up must not leave it unretrieved
        self.owner.closed(self)
        self.owner.failed(error)


class ScriptPipeline:
    """Runs scripts by digest; concurrent calls share writes on one lazily opened connection."""

    def __init__(
        self,
        endpoint: RedisEndpoint,
        scripts: dict[str, Script],
        *,
        timeout: float,
        max_batch: int = MAX_WRITE_BATCH,
        max_pending: int = MAX_PENDING,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        # rediss://: the SSLContext every connection of this pipeline is opened with.
        self.tls = endpoint.tls.context() if endpoint.tls is not None else None
        self.scripts = scripts
        self.timeout = timeout
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.writes = 0  # batches written, for tests and the benchmark
        self.on_batch = on_batch  # told each batch's size (the metrics' histogram)
        self._queue: deque[Call] = deque()
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._flush_scheduled = False
        self._heads: dict[tuple[str, int, int], bytes] = {}
        self._encoded: dict[Any, bytes] = {}
        # Told a call answered by MOVED or ASK (a cluster's redirection); None on one server,
        # where such a reply is an ordinary error.
        self.redirect: Callable[[Call, str], None] | None = None
        # Told each failure once, however many calls it failed: a lost or refused connection,
        # a timeout, an error reply (a cluster reads its slot map again); None on one server.
        self.on_failure: Callable[[BaseException], None] | None = None

    def pending(self) -> int:
        """Calls queued or in flight."""
        connection = self._connection
        return len(self._queue) + (len(connection.waiting) if connection else 0)

    def run(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> asyncio.Future[Any]:
        """Queue one script call; await the returned future for its reply or its error."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self.pending() >= self.max_pending:
            future.set_exception(PipelineFull("Too many Redis calls waiting"))
            return future
        script = self.scripts[name]
        call = Call(script, keys, args, future, self._evalsha(script, keys, args))
        self._queue.append(call)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return future

    def _evalsha(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> bytes:
        shape = (script.sha, len(keys), len(args))
        head = self._heads.get(shape)
        if head is None:
            head = b"*%d\r\n$7\r\nEVALSHA\r\n" % (3 + len(keys) + len(args))
            head += _bulk(script.sha) + _bulk(len(keys))
            self._heads[shape] = head
        parts = [head]
        parts += [_bulk(part) for part in keys]
        encoded = self._encoded
        for part in args:
            data = encoded.get(part) if type(part) in (str, int) else None
            if data is None:
                data = _bulk(part)
                if type(part) in (str, int) and len(encoded) < MAX_ENCODED_ARGS:
                    encoded[part] = data
            parts.append(data)
        return b"".join(parts)

    def _flush(self) -> None:
        self._flush_scheduled = False
        connection = self._connection
        if connection is None or connection.closed:
            self._connect_soon()
            return
        queue = self._queue
        batch: list[Call] = []
        while queue and len(batch) < self.max_batch:
            call = queue.popleft()
            if not call.future.done():  # a caller that gave up before the write counts nothing
                batch.append(call)
        if queue:
            self._schedule_flush()
        if not batch:
            return
        if any(call.asking for call in batch):
            self._write_asking(connection, batch)
        else:
            connection.write(b"".join([call.payload for call in batch]), batch)
        self.writes += 1
        if self.on_batch is not None:
            self.on_batch(len(batch))
        loop = asyncio.get_running_loop()
        loop.call_later(self.timeout, self._check_answered, connection, connection.sent)

    @staticmethod
    def _write_asking(connection: _Connection, batch: list[Call]) -> None:
        """ASKING before each call that an ASK sent here; its +OK goes to nobody."""
        data: list[bytes] = []
        waiters: list[Call | _Waiter] = []
        for call in batch:
            if call.asking:
                ignored: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                ignored.set_result(None)
                data.append(_ASKING)
                waiters.append(_Waiter(ignored))
            data.append(call.payload)
            waiters.append(call)
        connection.write(b"".join(data), waiters)

    def _check_answered(self, connection: _Connection, sent: int) -> None:
        if not connection.closed and connection.answered < sent:
            # A late reply would be handed to the wrong caller: drop the connection.
            connection.abort(RedisTimeoutError("Timeout reading from Redis"))

    def _connect_soon(self) -> None:
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        endpoint = self.endpoint
        connection = _Connection(self)
        try:
            async with asyncio.timeout(self.timeout):
                await loop.create_connection(
                    lambda: connection, endpoint.host, endpoint.port, ssl=self.tls
                )
                commands = handshake(endpoint)
                if commands:
                    waiters = [_Waiter(loop.create_future()) for _ in commands]
                    connection.write(b"".join(commands), waiters)
                    for waiter in waiters:
                        await waiter.future
        except (OSError, TimeoutError, RedisError) as exc:
            connection.abort(RedisConnectionError("Connection lost"))
            self._fail_queued(exc)
            return
        except asyncio.CancelledError:
            connection.abort(RedisConnectionError("Connection closed"))
            raise
        self._connection = connection
        self._flush()

    def _fail_queued(self, exc: BaseException) -> None:
        if isinstance(exc, RedisError):
            error: RedisError = exc
        elif isinstance(exc, TimeoutError):
            error = RedisTimeoutError("Timeout connecting to Redis")
        else:
            error = RedisConnectionError(f"Error connecting to Redis: {exc}")
        while self._queue:
            future = self._queue.popleft().future
            if not future.done():
                future.set_exception(error)
                future.exception()
        self.failed(error)

    def failed(self, error: BaseException) -> None:
        """A failure of this connection or of one call: told to `on_failure`, if any."""
        if self.on_failure is not None:
            self.on_failure(error)

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def resend_as_eval(self, call: Call) -> None:
        """After NOSCRIPT (the script did not run): send the source once with EVAL."""
        if call.evaluated:
            if not call.future.done():
                call.future.set_exception(NoScriptError("No matching script"))
            return
        call.evaluated = True
        call.payload = pack("EVAL", call.script.source, len(call.keys), *call.keys, *call.args)
        self.requeue(call)

    def requeue(self, call: Call) -> None:
        """Send a call that did not run (NOSCRIPT, MOVED, ASK) ahead of the queue."""
        self._queue.appendleft(call)
        self._schedule_flush()

    def closed(self, connection: _Connection) -> None:
        """A connection was dropped: queued calls (never sent) go out on the next one."""
        if connection is self._connection:
            self._connection = None
            if self._queue:
                self._schedule_flush()

    async def aclose(self) -> None:
        """Close the connection; calls in flight fail with a connection error."""
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        connection = self._connection
        self._connection = None
        if connection is not None:
            connection.abort(RedisConnectionError("Connection closed"))
        self._fail_queued(RedisConnectionError("Connection closed"))
