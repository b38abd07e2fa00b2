"""Multipart bodies for upload tests, built by hand so part order and headers are ours to choose."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

BOUNDARY = "securelinktestboundary7MA4YWxk"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FilePart:
    data: bytes
    filename: str = "report.pdf"
    content_type: str | None = "application/pdf"
    name: str = "file"


def _field_part(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
    )


def _file_head(part: FilePart) -> bytes:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{part.name}"; '
    head += f'filename="{part.filename}"\r\n'
    if part.content_type is not None:
        head += f"Content-Type: {part.content_type}\r\n"
    return (head + "\r\n").encode()


def multipart(*parts: FilePart | tuple[str, str]) -> bytes:
    """Parts in the order given: FilePart for files, (name, value) for form fields."""
    body = b""
    for part in parts:
        if isinstance(part, FilePart):
            body += _file_head(part) + part.data + b"\r\n"
        else:
            body += _field_part(*part)
    return body + f"--{BOUNDARY}--\r\n".encode()


def pattern_chunk(index: int) -> bytes:
    """Deterministic, not compressible-looking data: chunk i of a large test file."""
    seed = hashlib.sha256(index.to_bytes(8, "big")).digest()
    return (seed * (CHUNK // len(seed) + 1))[:CHUNK]


@dataclass(frozen=True)
class LargeUpload:
    """A file of `size` bytes sent without ever holding it whole: body chunks on demand."""

    size: int
    filename: str = "big.bin"
    fields: tuple[tuple[str, str], ...] = ()

    def file_chunks(self) -> Iterator[bytes]:
        sent, index = 0, 0
        while sent < self.size:
            chunk = pattern_chunk(index)[: self.size - sent]
            sent += len(chunk)
            index += 1
            yield chunk

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.file_chunks():
            digest.update(chunk)
        return digest.hexdigest()

    def _head(self) -> bytes:
        fields = b"".join(_field_part(name, value) for name, value in self.fields)
        return fields + _file_head(FilePart(b"", self.filename, "application/octet-stream"))

    _tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    @property
    def content_length(self) -> int:
        return len(self._head()) + self.size + len(self._tail)

    def body(self) -> Iterator[bytes]:
        yield self._head()
        yield from self.file_chunks()
        yield self._tail
