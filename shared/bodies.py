"""Request bodies both services read: JSON objects, decoded once, with every way to fail."""

from __future__ import annotations

from typing import Any

import msgspec

_decode = msgspec.json.Decoder().decode


def decode_json_object(body: bytes | bytearray) -> dict[str, Any] | None:
    """The body as a JSON object, or None: malformed, nested too deep, not UTF-8, not an object."""
    try:
        data = _decode(body)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
