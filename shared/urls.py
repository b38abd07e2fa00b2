"""URLs that fit in an HTTP header: Location is sent as Latin-1, so a target must be ASCII."""

from __future__ import annotations

import re

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def ascii_url(text: str) -> str:
    """Percent-encode (UTF-8) the non-ASCII characters, as browsers do, and only those.

    ASCII is kept as typed: existing %XX escapes are not encoded again, and reserved characters
    keep their meaning. Raises UnicodeEncodeError for a lone surrogate, which UTF-8 cannot encode.
    """
    return _NON_ASCII.sub(_percent_encode, text)


def _percent_encode(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8"))
