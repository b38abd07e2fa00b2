"""A cap on the request line and headers: uvicorn's httptools protocol has none of its own.

Without it a client can send a header of any size and uvicorn keeps all of it in memory. Past
MAX_HEAD_BYTES the connection gets 431 and is closed, before the application sees anything.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024
_MESSAGE = b"Request header fields too large"
_RESPONSE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"x-content-type-options: nosniff\r\n"
    b"content-length: " + str(len(_MESSAGE)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _MESSAGE
)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Counts the bytes that arrive while a request's head is incomplete (one read of slack)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True

    def data_received(self, data: bytes) -> None:
        # Parse first: one read often holds a whole head and the start of a large body, and
        # only the bytes of a head that is still incomplete after this read count against it.
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self.transport.write(_RESPONSE)
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
