"""What one connection may cost: the policy against slow and greedy clients, in one place.

uvicorn's httptools protocol has no limit of its own on any of these, so a few hundred silent
sockets could hold a worker's file descriptors forever. This subclass enforces, per worker:

- a cap on the request line and headers: past MAX_HEAD_BYTES (still incomplete after a read)
  the connection gets 431 and is closed, before the application sees anything;
- a request-head deadline: a head must be complete within SECURELINK_HEAD_TIMEOUT_SECONDS
  (default 20) of the connection's start or of its first byte, else 408 and close;
- a minimum body rate: while a body is arriving, every SECURELINK_BODY_WINDOW_SECONDS (default
  20) must bring at least SECURELINK_BODY_MIN_BYTES (default 1024), else the connection is
  closed; a window in which the application itself stopped reading (back-pressure) is free;
- a connection cap: past SECURELINK_MAX_CONNECTIONS open connections (default 4096, never more
  than the open-file limit less 128 for Redis, files and logs) a new connection gets 503 with
  a short body and is closed at once;
- uvicorn's own 400 for a request it cannot parse carries our nosniff and Referrer-Policy
  headers, and its log line is written at most once a minute (with the count left out);
- uvicorn's keep-alive idle timeout (timeout_keep_alive) is kept, but with one timer per
  connection instead of one armed and cancelled for every response (about 2.5 us a request
  on uvloop): a response notes when the connection fell idle, a read clears it, and the timer,
  when it fires, closes an idle connection or waits out what is left of the idle time.

Another server (granian, say) must enforce the same settings; they live in shared/settings.py.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.settings import Settings

MAX_HEAD_BYTES = 64 * 1024
FILE_HEADROOM = 128  # descriptors kept free of client connections
INVALID_REQUEST_LOG = "Invalid HTTP request received."
INVALID_LOG_EVERY_SECONDS = 60.0


def _response(status: bytes, message: bytes, referrer_policy: str) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: text/plain; charset=utf-8\r\n"
        b"x-content-type-options: nosniff\r\n"
        b"referrer-policy: " + referrer_policy.encode("latin-1") + b"\r\n"
        b"cache-control: no-store\r\n"
        b"content-length: " + str(len(message)).encode() + b"\r\n"
        b"connection: close\r\n\r\n" + message
    )


@dataclass(frozen=True)
class ConnectionPolicy:
    head_timeout: float
    body_window: float
    body_min_bytes: int
    max_connections: int
    too_large: bytes
    timed_out: bytes
    full: bytes
    invalid: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionPolicy:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        cap = settings.max_connections
        if soft != resource.RLIM_INFINITY:
            cap = max(1, min(cap, soft - FILE_HEADROOM))
        policy = settings.referrer_policy
        return cls(
            head_timeout=float(settings.head_timeout_seconds),
            body_window=float(settings.body_window_seconds),
            body_min_bytes=settings.body_min_bytes,
            max_connections=cap,
            too_large=_response(
                b"431 Request Header Fields Too Large", b"Request header fields too large", policy
            ),
            timed_out=_response(b"408 Request Timeout", b"Request head took too long", policy),
            full=_response(b"503 Service Unavailable", b"Too many connections", policy),
            invalid=_response(b"400 Bad Request", b"Invalid HTTP request", policy),
        )


_policy: ConnectionPolicy | None = None


def policy() -> ConnectionPolicy:
    """Read once per worker process from the environment (the settings were checked at start)."""
    global _policy
    if _policy is None:
        _policy = ConnectionPolicy.from_settings(Settings.from_env())
        logging.getLogger("uvicorn.error").addFilter(_InvalidRequestLogFilter())
    return _policy


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass  # e.g. an unlimited hard limit the kernel caps lower: keep what there is
    return soft


class _InvalidRequestLogFilter(logging.Filter):
    """One "Invalid HTTP request received." a minute at most: garbage must not flood the log."""

    def __init__(self) -> None:
        super().__init__()
        self._last = -INVALID_LOG_EVERY_SECONDS
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != INVALID_REQUEST_LOG:
            return True
        now = time.monotonic()
        if now - self._last < INVALID_LOG_EVERY_SECONDS:
            self._dropped += 1
            return False
        if self._dropped:
            record.msg = f"{INVALID_REQUEST_LOG} ({self._dropped} more not logged)"
        self._last, self._dropped = now, 0
        return True


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's protocol with the limits above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._policy = policy()
        self._head_bytes = 0
        self._in_head = True
        self._in_body = False
        self._head_begun = False  # a request line has begun and its head is not complete
        self._body_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._idle_since: float | None = None  # loop time the last response left it idle
        self._idle_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._policy.max_connections:
            self.transport.write(self._policy.full)
            self.transport.close()
            return
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        # Parse first: one read often holds a whole head and the start of a large body, and
        # only the bytes of a head that is still incomplete after this read count against it.
        if self._in_head:
            self._head_bytes += len(data)
        elif self._in_body:
            self._body_bytes += len(data)
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._in_head and self._head_bytes > MAX_HEAD_BYTES:
            self.transport.write(self._policy.too_large)
            self.transport.close()
            return
        # Deadlines only for what this read left incomplete: a request that arrived whole (nearly
        # every GET) starts and cancels no timer. A head counts from the read that began it.
        if self._head_timer is None and self._in_head and (self._head_bytes or self._head_begun):
            self._start_head_timer()
        if self._body_timer is None and self._in_body:
            self._body_bytes = 0
            self._body_timer = self.loop.call_later(self._policy.body_window, self._check_body_rate)

    def _unset_keepalive_if_required(self) -> None:
        # uvicorn calls this on every read and after every response: no timer is touched.
        self._idle_since = None

    def on_response_complete(self) -> None:
        """uvicorn's, but noting the idle time where it would arm a timer for each response."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self._idle_timer is None:
            self._idle_timer = self.loop.call_later(self.timeout_keep_alive, self._idle_check)

    def _idle_check(self) -> None:
        self._idle_timer = None
        if self._idle_since is None or self.transport.is_closing():
            return  # busy: the next response that leaves it idle starts the timer again
        left = self._idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self._idle_timer = self.loop.call_later(left, self._idle_check)
        else:
            self.timeout_keep_alive_handler()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's own answer to a request it cannot parse, with our headers.
        self._cancel_timers()
        self.transport.write(self._policy.invalid)
        self.transport.close()

    def on_message_begin(self) -> None:
        self._head_begun = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_begun = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._in_body = True  # until the message completes; data_received starts its timer
        self._body_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
        self._in_body = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self._policy.head_timeout, self._head_too_slow)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            # Nothing of this request reached the application: a plain 408 is safe to write
            # unless an earlier (pipelined) response is still being written.
            if self.cycle is None or self.cycle.response_complete:
                self.transport.write(self._policy.timed_out)
            self.transport.close()

    def _check_body_rate(self) -> None:
        self._body_timer = None
        if not self._in_body or self.transport.is_closing():
            return
        if self._body_bytes < self._policy.body_min_bytes and not self.flow.read_paused:
            self.transport.close()  # the application sees a disconnect, as for a client gone
            return
        self._body_bytes = 0
        self._body_timer = self.loop.call_later(self._policy.body_window, self._check_body_rate)

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer, self._idle_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = self._idle_timer = None
