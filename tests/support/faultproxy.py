"""A TCP proxy in front of a real Redis server that can lose replies, stall, or refuse.

It runs its own event loop in a background thread, so sync tests, asyncio tests and service
processes can all talk through it. Faults:

- drop_replies(p): requests reach Redis and run; with probability p a reply is swallowed and
  the client's connection closed, as when a network drops between a command and its answer.
- pause(): nothing moves in either direction (a stopped server, or a black hole); resume()
  lets the held bytes through.
- refuse(): the listening socket closes and every live connection is cut; forward() reopens.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 64 * 1024


class FaultProxy:
    """Loopback proxy on a free port; use as a context manager or start()/stop()."""

    def __init__(self, target_host: str, target_port: int, *, seed: int | None = None) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = "127.0.0.1"
        self.port = 0
        self.drop_probability = 0.0
        self.drops_left = 0
        self.replies_forwarded = 0
        self.replies_dropped = 0
        self.requests: list[bytes] = []  # every chunk sent on to Redis, in order
        self._random = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._running: asyncio.Event | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._open())
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._close(cut_connections=True))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Faults, callable from any thread.

    def forward(self) -> None:
        """Pass everything through (and listen again after refuse())."""
        self.drop_probability = 0.0
        self.drops_left = 0
        self._call(self._open())
        self._loop.call_soon_threadsafe(self._set_running, True)

    def drop_replies(self, probability: float = 1.0) -> None:
        """Forward every request; swallow a reply with this probability and cut its connection."""
        self.drop_probability = probability

    def drop_next_replies(self, count: int = 1) -> None:
        """Swallow exactly the next `count` replies (cutting their connections), then forward."""
        self.drops_left = count

    def pause(self) -> None:
        """Hold every byte in both directions: clients see a server that never answers."""
        self._call(self._set_paused())

    def resume(self) -> None:
        self._loop.call_soon_threadsafe(self._set_running, True)

    def refuse(self) -> None:
        """Stop listening and cut every connection: new clients get ECONNREFUSED."""
        self._call(self._close(cut_connections=True))

    def evalsha_count(self) -> int:
        """How many EVALSHA/EVAL commands reached Redis through this proxy."""
        with self._lock:
            data = b"".join(self.requests).upper()
        return data.count(b"EVALSHA") + data.count(b"\r\nEVAL\r\n")

    # The loop side.

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def _set_running(self, running: bool) -> None:
        assert self._running is not None
        if running:
            self._running.set()
        else:
            self._running.clear()

    async def _set_paused(self) -> None:
        self._set_running(False)

    async def _open(self) -> None:
        if self._running is None:
            self._running = asyncio.Event()
            self._running.set()
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self, *, cut_connections: bool) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if cut_connections:
            for writer in list(self._connections):
                _abort(writer)
            self._connections.clear()
        if server is not None:
            await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            _abort(writer)
            return
        self._connections.update((writer, up_writer))
        pumps = [
            asyncio.ensure_future(self._pump_requests(reader, up_writer)),
            asyncio.ensure_future(self._pump_replies(up_reader, writer)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            for end in (writer, up_writer):
                self._connections.discard(end)
                _abort(end)

    async def _pump_requests(
        self, reader: asyncio.StreamReader, upstream: asyncio.StreamWriter
    ) -> None:
        assert self._running is not None
        while data := await reader.read(CHUNK):
            await self._running.wait()
            with self._lock:
                self.requests.append(data)
            upstream.write(data)
            await upstream.drain()

    async def _pump_replies(
        self, upstream: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        assert self._running is not None
        while data := await upstream.read(CHUNK):
            await self._running.wait()
            if self._should_drop():
                self.replies_dropped += 1
                return  # the caller cuts both ends: the client sees its connection close
            self.replies_forwarded += 1
            writer.write(data)
            await writer.drain()

    def _should_drop(self) -> bool:
        if self.drops_left > 0:
            self.drops_left -= 1
            return True
        return bool(self.drop_probability) and self._random.random() < self.drop_probability


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()
