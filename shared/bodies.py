"""Request bodies both services read: JSON objects, decoded once, with every way to fail."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

_decode = msgspec.json.Decoder().decode
# A member name is a string followed by its colon. Every member of the document matches here
# once; a string that merely holds `":` matches too, so this only ever counts too many.
_MEMBER_END = re.compile(rb'"[ \t\r\n]*:')


class _DuplicateKey(ValueError):
    pass


def decode_json_object(body: bytes | bytearray) -> dict[str, Any] | None:
    """The body as a JSON object, or None: malformed, nested too deep, not UTF-8, not an object,
    or an object with a member name twice (msgspec, like most decoders, lets the last one win
    silently, so what a client meant and what it gets could differ)."""
    try:
        data = _decode(body)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    return data if not _has_duplicate_keys(data, body) else None


def _has_duplicate_keys(data: dict[str, Any], body: bytes | bytearray) -> bool:
    """Cheap when there are none: the decoded objects hold as many members as the text has
    member-name colons exactly when no name was dropped. Only when the text has more (a
    duplicate, or a string holding `":`) is it parsed again, with a hook that sees every pair."""
    if _count_members(data) == len(_MEMBER_END.findall(body)):
        return False
    try:
        json.loads(bytes(body), object_pairs_hook=_refuse_duplicates)
    except _DuplicateKey:
        return True
    except (ValueError, RecursionError):
        return True  # msgspec read it, json does not: refuse rather than guess
    return False


def _count_members(data: Any) -> int:
    count, stack = 0, [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            count += len(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return count


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKey()
    return result
