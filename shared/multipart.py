"""Every way a multipart/form-data body can fail to parse, mapped in one place.

python-multipart raises FormParserError (and its subclasses) from more places than `write`:
its MultipartParser refuses a boundary over 70 or so characters already when it is made, and
Starlette's form parser lets that error through (it maps only its own MultiPartException).
Left alone, either reaches the application as a 500. Both services parse multipart bodies only
through this module, and it turns all of them into MalformedMultipart (a 400 for the caller).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser
from starlette.datastructures import FormData, Headers
from starlette.formparsers import MultiPartException, MultiPartParser

# python-multipart logs a warning for each malformed body it meets ("Did not find CR at end of
# boundary"): one line per garbage request, written by whoever sends garbage. The 400 says it.
logging.getLogger("python_multipart.multipart").setLevel(logging.ERROR)

# Everything a multipart parse may raise about the body (never about this process).
PARSE_ERRORS: tuple[type[Exception], ...] = (FormParserError, MultiPartException)


class MalformedMultipart(Exception):
    """The body is not multipart/form-data that can be read."""


def multipart_parser(boundary: bytes, callbacks: Any) -> MultipartParser:
    """python-multipart's streaming parser; a boundary it refuses is MalformedMultipart."""
    try:
        return MultipartParser(boundary, callbacks)
    except PARSE_ERRORS:
        raise MalformedMultipart() from None


def write(parser: MultipartParser, chunk: bytes) -> None:
    try:
        parser.write(chunk)
    except PARSE_ERRORS:
        raise MalformedMultipart() from None


async def read_small_form(
    headers: Headers, body: bytes, *, max_fields: int, max_part_size: int
) -> FormData:
    """A small multipart form already read whole (its size capped by the caller), no files."""

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        headers, stream(), max_files=0, max_fields=max_fields, max_part_size=max_part_size
    )
    try:
        return await parser.parse()
    except PARSE_ERRORS:
        raise MalformedMultipart() from None
