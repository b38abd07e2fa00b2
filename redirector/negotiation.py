"""Does the client prefer JSON over HTML? A small reading of the Accept header's q-values."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=256)
def prefers_json(accept: str) -> bool:
    """True when application/json gets a higher q than text/html (ties go to HTML)."""
    json_q = html_q = 0.0
    for item in accept.split(","):
        media, *params = item.strip().lower().split(";")
        q = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.strip()
        if media in ("application/json", "application/*"):
            json_q = max(json_q, q if media == "application/json" else q - 0.001)
        elif media in ("text/html", "text/*"):
            html_q = max(html_q, q if media == "text/html" else q - 0.001)
        elif media == "*/*":
            json_q = max(json_q, q - 0.002)
            html_q = max(html_q, q - 0.002)
    return json_q > html_q
