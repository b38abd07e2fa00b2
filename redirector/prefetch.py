"""Prefetches count nothing: a browser's speculative GET is declined, never answered.

Browsers (and some mail and chat clients) fetch links ahead of a click and say so in
`Sec-Purpose: prefetch` (Chromium, Firefox) or the older `Purpose: prefetch`. Answering such
a request would spend a one-time link's view on nobody. It gets 503 with no-store instead: the
browser throws the prefetch away and asks again when the person really follows the link.
"""

from __future__ import annotations

from collections.abc import Iterable

PURPOSE_HEADERS = frozenset({b"sec-purpose", b"purpose"})


def is_prefetch(headers: Iterable[tuple[str, str]]) -> bool:
    """`Sec-Purpose` or `Purpose` naming prefetch (`prefetch;prerender` included)."""
    for name, value in headers:
        if name.lower() in ("sec-purpose", "purpose") and "prefetch" in value.lower():
            return True
    return False
