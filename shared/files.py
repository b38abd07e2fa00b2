"""Where uploaded files live and what their stored names and content types may be."""

from __future__ import annotations

import re
from pathlib import Path

from shared.settings import Settings

# Stored names are secrets.token_hex(16): never a name a user chose, never a path.
STORED_NAME = re.compile(r"[0-9a-f]{32}")
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# A file's name when the upload gave none we can use, and the download's name then.
DEFAULT_FILE_NAME = "download"
_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,127}"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")


def files_dir(settings: Settings) -> Path:
    """Both services agree on this directory: the admin API writes it, the redirector reads it."""
    return Path(settings.data_dir) / "files"


def is_stored_name(name: str) -> bool:
    return STORED_NAME.fullmatch(name) is not None


def safe_media_type(raw: str | None) -> str:
    """`type/subtype` as RFC 9110 tokens, lowercased, without parameters; else octet-stream."""
    media = (raw or "").split(";", 1)[0].strip().lower()
    return media if _MEDIA_TYPE.fullmatch(media) else DEFAULT_CONTENT_TYPE
