"""The fast lane (shared/fast_lane.py) over real sockets: uvicorn in this process, an app whose
hot path the test drives (each answer waits for a future the test resolves), raw HTTP/1.x."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from shared.fast_lane import FastLaneProtocol

WAIT_SECONDS = 10.0  # a generous bound on every wait; the waits poll for their condition
TARGET = b"https://example.com/target"
LOCATION_HEADERS = b"location: " + TARGET + b"\r\ncache-control: no-store\r\ncontent-length: 0\r\n"


@dataclass
class HotPath:
    """Offers every path but /asgi...; a reply of None leaves the request to the ASGI app."""

    loop: asyncio.AbstractEventLoop
    offers: list[tuple[str, asyncio.Future[bytes | None]]] = field(default_factory=list)
    sent_paths: list[str] = field(default_factory=list)

    def offer(self, scope: dict[str, Any]) -> Awaitable[Any] | None:
        if scope["path"].startswith("/asgi"):
            return None
        future: asyncio.Future[bytes | None] = self.loop.create_future()
        self.offers.append((scope["path"], future))
        return future

    def head(self, scope: dict[str, Any], done: asyncio.Future[Any]) -> tuple[int, bytes] | None:
        target = done.result()
        if target is None:
            scope["found"] = "left to the app"
            return None
        return 302, b"location: " + target + b"\r\ncache-control: no-store\r\ncontent-length: 0\r\n"

    def sent(self, scope: dict[str, Any]) -> None:
        self.sent_paths.append(scope["path"])


class App:
    """ASGI: /asgi-redirect sends the fast lane's redirect through send(); else a 404 text."""

    def __init__(self, hot_path: HotPath) -> None:
        self.hot_path = hot_path
        self.calls: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls.append(scope["path"])
        if scope["path"] == "/asgi-redirect":
            headers = [(b"location", TARGET), (b"cache-control", b"no-store")]
            headers.append((b"content-length", b"0"))
            await send({"type": "http.response.start", "status": 302, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        body = f"asgi {scope['path']} {scope.get('found', '-')}".encode()
        length = str(len(body)).encode()
        await send({"type": "http.response.start", "status": 404,
                    "headers": [(b"content-length", length)]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


@dataclass
class Running:
    port: int
    server: uvicorn.Server
    hot_path: HotPath
    app: App

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def offered(self, count: int) -> None:
        await until(lambda: len(self.hot_path.offers) >= count)

    def answer(self, index: int, target: bytes | None = TARGET) -> None:
        self.hot_path.offers[index][1].set_result(target)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while not condition():
            await asyncio.sleep(0.005)


@asynccontextmanager
async def serving(keep_alive_seconds: int = 5) -> AsyncIterator[Running]:
    hot_path = HotPath(asyncio.get_running_loop())
    app = App(hot_path)
    config = uvicorn.Config(
        app,
        http=FastLaneProtocol,
        lifespan="off",
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # as shared/cli.py runs it: the app itself, not wrapped
        server_header=False,
        timeout_keep_alive=keep_alive_seconds,
    )
    server = uvicorn.Server(config)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[listening]))
    await until(lambda: server.started)
    try:
        yield Running(listening.getsockname()[1], server, hot_path, app)
    finally:
        server.should_exit = True
        await task
        listening.close()


async def read_response(reader: asyncio.StreamReader, method: str = "GET") -> bytes:
    """One response: its head, and its body by Content-Length (none after HEAD)."""
    async with asyncio.timeout(WAIT_SECONDS):
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length) if method != "HEAD" else b""
    return head + body


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    async with asyncio.timeout(WAIT_SECONDS):
        return await reader.read() == b""


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()


def without_date(response: bytes) -> bytes:
    return b"".join(
        line for line in response.splitlines(keepends=True) if not line.startswith(b"date: ")
    )


def get(path: str, *extra: str, version: str = "1.1", method: str = "GET") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: test", *extra, "", ""]
    return "\r\n".join(lines).encode()


def test_the_fast_lane_writes_the_bytes_uvicorns_send_would() -> None:
    async def scenario() -> tuple[bytes, bytes, list[str]]:
        async with serving() as running:
            reader, writer = await running.connect()
            writer.write(get("/code1"))
            await running.offered(1)
            running.answer(0)
            fast = await read_response(reader)
            writer.write(get("/asgi-redirect"))
            through_asgi = await read_response(reader)
            await close(writer)
            return fast, through_asgi, running.app.calls

    fast, through_asgi, asgi_calls = asyncio.run(scenario())

    assert fast.startswith(b"HTTP/1.1 302 Found\r\ndate: ")
    assert without_date(fast) == without_date(through_asgi)
    assert without_date(fast) == b"HTTP/1.1 302 Found\r\n" + LOCATION_HEADERS + b"\r\n"
    assert asgi_calls == ["/asgi-redirect"]


def test_a_keep_alive_connection_serves_fast_answers_one_after_another() -> None:
    async def scenario() -> tuple[list[bytes], list[str], list[str]]:
        async with serving() as running:
            reader, writer = await running.connect()
            responses = []
            for index in range(3):
                writer.write(get(f"/code{index}"))
                await running.offered(index + 1)
                running.answer(index)
                responses.append(without_date(await read_response(reader)))
            await close(writer)
            return responses, running.hot_path.sent_paths, running.app.calls

    responses, sent, asgi_calls = asyncio.run(scenario())

    assert responses == [b"HTTP/1.1 302 Found\r\n" + LOCATION_HEADERS + b"\r\n"] * 3
    assert sent == ["/code0", "/code1", "/code2"]
    assert asgi_calls == []


def test_connection_close_and_http_1_0_get_connection_close_and_the_socket_closed() -> None:
    async def scenario(request: bytes) -> tuple[bytes, bool]:
        async with serving() as running:
            reader, writer = await running.connect()
            writer.write(request)
            await running.offered(1)
            running.answer(0)
            response = await read_response(reader)
            closed = await closed_by_server(reader)
            await close(writer)
            return without_date(response), closed

    for request in (get("/code1", "Connection: close"), get("/code1", version="1.0")):
        response, closed = asyncio.run(scenario(request))

        assert response == (
            b"HTTP/1.1 302 Found\r\n" + LOCATION_HEADERS + b"connection: close\r\n\r\n"
        )
        assert closed


def test_pipelined_requests_are_answered_in_order_one_at_a_time() -> None:
    async def scenario() -> tuple[list[bytes], list[int], list[str]]:
        async with serving() as running:
            reader, writer = await running.connect()
            writer.write(
                get("/first") + get("/left") + get("/asgi-page") + get("/last", method="HEAD")
            )
            offered_while_waiting = []
            await running.offered(1)
            offered_while_waiting.append(len(running.hot_path.offers))
            running.answer(0)
            first = await read_response(reader)
            await running.offered(2)
            offered_while_waiting.append(len(running.hot_path.offers))
            running.answer(1, None)  # the app answers this one, with what the hot path found
            left = await read_response(reader)
            page = await read_response(reader)
            await running.offered(3)
            running.answer(2)
            last = await read_response(reader, "HEAD")
            await close(writer)
            responses = [without_date(r) for r in (first, left, page, last)]
            return responses, offered_while_waiting, running.app.calls

    responses, offered_while_waiting, asgi_calls = asyncio.run(scenario())

    redirect = b"HTTP/1.1 302 Found\r\n" + LOCATION_HEADERS + b"\r\n"
    assert responses[0] == redirect
    assert responses[1].endswith(b"\r\n\r\nasgi /left left to the app")
    assert responses[2].endswith(b"\r\n\r\nasgi /asgi-page -")
    assert responses[3] == redirect
    assert offered_while_waiting == [1, 2]  # a later request waits for the earlier answer
    assert asgi_calls == ["/left", "/asgi-page"]


def test_a_client_gone_before_its_answer_is_counted_as_served_and_harms_nothing() -> None:
    async def scenario() -> tuple[list[str], bytes]:
        async with serving() as running:
            reader, writer = await running.connect()
            writer.write(get("/gone"))
            await running.offered(1)
            await close(writer)
            await until(lambda: not running.server.server_state.connections)
            running.answer(0)
            await until(lambda: bool(running.hot_path.sent_paths))
            reader, writer = await running.connect()
            writer.write(get("/after"))
            await running.offered(2)
            running.answer(1)
            after = await read_response(reader)
            await close(writer)
            return running.hot_path.sent_paths, without_date(after)

    sent, after = asyncio.run(scenario())

    assert sent == ["/gone", "/after"]  # the work was done (a view counted): it counts
    assert after == b"HTTP/1.1 302 Found\r\n" + LOCATION_HEADERS + b"\r\n"


def test_a_client_that_reads_nothing_holds_its_answer_until_it_reads() -> None:
    async def scenario() -> tuple[int, list[str], bytes]:
        async with serving() as running:
            reader, writer = await running.connect()
            writer.write(get("/slow-reader"))
            await running.offered(1)
            (protocol,) = running.server.server_state.connections
            protocol.pause_writing()  # as the transport does past its high-water mark
            running.answer(0)
            state = running.server.server_state
            await until(lambda: len(state.tasks) == 1)  # waiting for the drain, not written
            sent_before = list(running.hot_path.sent_paths)
            protocol.resume_writing()
            response = await read_response(reader)
            await close(writer)
            return len(state.tasks), sent_before, without_date(response)

    _, sent_before, response = asyncio.run(scenario())

    assert sent_before == []
    assert response == b"HTTP/1.1 302 Found\r\n" + LOCATION_HEADERS + b"\r\n"


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_time_not_before() -> None:
    # One timer per connection (shared/http_limits.py): the second request, made while the
    # timer armed by the first is still running, restarts the idle time.
    idle = 2

    async def scenario() -> tuple[float, float]:
        async with serving(keep_alive_seconds=idle) as running:
            reader, writer = await running.connect()
            writer.write(get("/asgi-page"))
            await read_response(reader)
            await asyncio.sleep(idle / 2)
            second_sent = time.monotonic()
            writer.write(get("/asgi-page"))
            await read_response(reader)
            answered = time.monotonic()
            assert await closed_by_server(reader)
            closed = time.monotonic()
            await close(writer)
            return closed - second_sent, answered - second_sent

    open_for, answer_took = asyncio.run(scenario())

    assert open_for >= idle
    assert answer_took < idle  # else this run proved nothing about the restart
