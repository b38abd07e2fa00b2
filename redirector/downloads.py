"""File links: the stored file, whole, as an attachment with a name no browser can misread."""

from __future__ import annotations

import logging
import os
import unicodedata
from pathlib import Path
from urllib.parse import quote

from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send

from shared.files import DEFAULT_FILE_NAME, is_stored_name, safe_media_type

logger = logging.getLogger("securelink")

# Inside the quoted ASCII fallback: no quote, backslash, slash, semicolon, percent or control.
_FALLBACK_SAFE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !#$&'()+,-.=@[]^_`{}~"
)
# RFC 8187 attr-char beyond letters and digits; everything else is percent-encoded.
_ATTR_CHAR_EXTRA = "!#$&+-.^_`|~"
_REPORTED_LIMIT = 1024


def ascii_fallback(name: str) -> str:
    """`filename=` for old clients: accents dropped, anything unsafe an underscore."""
    decomposed = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    safe = "".join(c if c in _FALLBACK_SAFE else "_" for c in text).strip(" .")
    stem, dot, suffix = safe.rpartition(".")
    if not dot:
        stem, suffix = safe, ""
    if not stem.strip("_ ."):
        stem = DEFAULT_FILE_NAME  # nothing of the name survived: "отчёт.txt" -> "download.txt"
    return f"{stem}.{suffix}" if suffix.strip("_") else stem


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII `filename`, plus `filename*` (RFC 8187, UTF-8) when they differ."""
    fallback = ascii_fallback(name)
    header = f'attachment; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe=_ATTR_CHAR_EXTRA)}"
    return header


class Download(FileResponse):
    """The whole file, never a range: each download is one counted view, not a part of one."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
            scope = {**scope, "headers": headers}
        await super().__call__(scope, receive, send)


DOWNLOAD_CSP = "sandbox; default-src 'none'"


class Downloads:
    """Builds file responses from what resolve_link returned; None when the file is gone."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._reported: set[str] = set()

    def response(
        self,
        stored_name: str,
        file_name: str | None,
        content_type: str | None,
        headers: dict[str, str],
    ) -> Download | None:
        try:
            if not is_stored_name(stored_name):
                raise FileNotFoundError(stored_name)
            path = self.directory / stored_name
            stat = os.stat(path)  # a local stat: microseconds, not worth a thread hop
        except OSError as exc:
            self._report(stored_name, exc)
            return None
        response = Download(
            path,
            headers={
                **headers,
                "Content-Disposition": content_disposition(file_name or DEFAULT_FILE_NAME),
                # An SVG, HTML or script opened from the download still runs nothing.
                "Content-Security-Policy": DOWNLOAD_CSP,
            },
            stat_result=stat,
        )
        # Set after construction: Starlette would append "; charset=utf-8" to text types.
        response.headers["content-type"] = safe_media_type(content_type)
        response.headers["accept-ranges"] = "none"
        return response

    def _report(self, stored_name: str, exc: OSError) -> None:
        """One log line per missing file and process, not one per request for it."""
        if stored_name in self._reported:
            return
        if len(self._reported) >= _REPORTED_LIMIT:
            self._reported.clear()
        self._reported.add(stored_name)
        logger.error("file of a live link is missing: %r (%s)", stored_name, exc.strerror or exc)
