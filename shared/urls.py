"""URLs that fit in an HTTP header: Location is sent as Latin-1, so a target must be ASCII;
and hosts as a browser would resolve them."""

from __future__ import annotations

import ipaddress
import re
import unicodedata

import idna

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def ascii_url(text: str) -> str:
    """Percent-encode (UTF-8) the non-ASCII characters, as browsers do, and only those.

    ASCII is kept as typed: existing %XX escapes are not encoded again, and reserved characters
    keep their meaning. Raises UnicodeEncodeError for a lone surrogate, which UTF-8 cannot encode.
    """
    if text.isascii():  # nearly every URL: nothing to encode, no regex pass
        return text
    return _NON_ASCII.sub(_percent_encode, text)


def _percent_encode(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8"))


# An ASCII label as browsers and DNS take it: letters, digits, hyphens inside, and the
# underscores that real names (_dmarc, CDN hosts) carry; at most 63 characters.
_ASCII_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_BRACKETED = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::([0-9]*))?")
MAX_HOST_LENGTH = 253


def ascii_host(host: str) -> str | None:
    """The host as browsers resolve it, in ASCII (punycode), or None when no browser would.

    UTS-46 non-transitional processing, as browsers do (the `idna` package): `straße.de` is
    `xn--strae-oqa.de`, not the IDNA 2003 `strasse.de`, which is a different registrable domain.
    Rejected: empty labels (`...`), labels starting or ending with `-`, a bare `xn--` or any
    invalid punycode label, code points in the wrong context (`x·y`), and non-ASCII labels that
    map to digits (browsers would read the host as a number). One trailing dot is kept.
    """
    host = host.lower()
    mapped = host
    if not host.isascii():
        try:
            mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        except (idna.IDNAError, UnicodeError):
            return None
    trailing = mapped.endswith(".")
    labels = (mapped[:-1] if trailing else mapped).split(".")
    out: list[str] = []
    for label in labels:
        if label.isascii():
            if not _ASCII_LABEL.fullmatch(label):
                return None
            if label.startswith("xn--"):
                try:
                    idna.decode(label)
                except (idna.IDNAError, UnicodeError):
                    return None
            elif not host.isascii() and label.isdigit():
                return None
            out.append(label)
            continue
        if all(unicodedata.category(char) == "Nd" for char in label):
            return None
        try:
            out.append(idna.alabel(label).decode("ascii"))
        except (idna.IDNAError, UnicodeError):
            return None
    result = ".".join(out) + ("." if trailing else "")
    return result if len(result) <= MAX_HOST_LENGTH else None


def ascii_netloc(netloc: str) -> str | None:
    """A netloc without user-info: a valid host (or bracketed IPv6 address) and a port from 1
    to 65535, in ASCII; None otherwise. `[::1]x`, `[v1.x]` and port 0 are not real places."""
    if netloc.startswith("["):
        match = _BRACKETED.fullmatch(netloc)
        if match is None:
            return None
        try:
            ipaddress.IPv6Address(match.group(1))
        except ValueError:
            return None
        port = match.group(2)
        return netloc if port is None or _valid_port(port) else None
    host, colon, port = netloc.rpartition(":") if ":" in netloc else (netloc, "", "")
    if colon and not _valid_port(port):
        return None
    converted = ascii_host(host)
    if converted is None:
        return None
    # An ASCII host is kept as typed (its case too); a Unicode one becomes its A-labels.
    shown = host if host.isascii() else converted
    return f"{shown}:{port}" if colon else shown


def _valid_port(port: str) -> bool:
    return port == "" or (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535)
