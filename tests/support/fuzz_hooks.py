"""Schemathesis hooks for tests/acceptance/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

The fuzzer sends one Idempotency-Key value with many bodies, so a later body is refused with 422
(another request with the same key) or answered with a replay of a link that a call in between
deleted, which the stateful phase reports as "created resource not found". Neither says
anything about the document. Every well-formed key a generated case carries is made unique
here; a malformed one is left as generated, so its 400 is still fuzzed. The coverage phase
does not run map hooks: its 422 stays accepted in test_fuzz.py's config.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis

from admin_api.idempotency import MAX_KEY_LENGTH

HEADER = "idempotency-key"


def _well_formed(value: str) -> bool:
    return 0 < len(value) <= MAX_KEY_LENGTH and all(" " <= char <= "~" for char in value)


@schemathesis.hook
def map_headers(context: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
    for name, value in list((headers or {}).items()):
        if name.lower() == HEADER and isinstance(value, str) and _well_formed(value):
            unique = uuid.uuid4().hex
            headers[name] = f"{value[: MAX_KEY_LENGTH - len(unique) - 1]}-{unique}"  # type: ignore[index]
    return headers
