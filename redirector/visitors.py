"""What a counted view records about its visitor: the referrer's host and the device class.

Both are read from headers on the hot path, so both are plain string work, no regular
expressions: a Referer is cut at "://" and the next "/", "?" or "#"; a User-Agent is
lowercased and searched for a few platform tokens, and its class is cached (bounded) because
a service sees the same few thousand User-Agents again and again.
"""

from __future__ import annotations

from functools import lru_cache

from shared.stats import DEVICE_LETTERS, NO_REFERRER, OTHER_REFERRER

MAX_HOST_LENGTH = 60  # longer hosts count as other: a stats hash field stays small
_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")
_IPV6_CHARACTERS = frozenset("0123456789abcdef:.")
_SCHEME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789+.-")
_CACHED_LENGTH = 512  # only User-Agents of a sane length are cached, so the cache stays small

DESKTOP = DEVICE_LETTERS["desktop"]
MOBILE = DEVICE_LETTERS["mobile"]
TABLET = DEVICE_LETTERS["tablet"]
OTHER = DEVICE_LETTERS["other"]

_TABLET_TOKENS = ("ipad", "tablet", "kindle", "silk/", "playbook", "nexus 7", "nexus 10")
_MOBILE_TOKENS = (
    "mobi",  # "Mobile" (Android phones, iPhone Safari) and "Mobi" (Mozilla's advice)
    "iphone",
    "ipod",
    "windows phone",
    "blackberry",
    "bb10",
    "opera mini",
    "symbian",
)
_DESKTOP_TOKENS = ("windows nt", "macintosh", "mac os x", "x11", "linux", "cros", "freebsd")


def referrer_host(referer: str) -> str:
    """The host of a Referer (lowercase, no user-info, no port); '' when none, '*' when unusable."""
    value = referer.strip()
    if not value:
        return NO_REFERRER
    scheme, separator, rest = value.partition("://")
    if not separator or not scheme or not _SCHEME_CHARACTERS.issuperset(scheme.lower()):
        return OTHER_REFERRER
    end = len(rest)
    for stop in "/?#\\":
        at = rest.find(stop, 0, end)
        if at >= 0:
            end = at
    authority = rest[:end].rpartition("@")[2].lower()
    if authority.startswith("["):  # an IPv6 literal keeps its brackets and loses its port
        closing = authority.find("]")
        host = authority[: closing + 1] if closing > 0 else ""
        valid = bool(host) and _IPV6_CHARACTERS.issuperset(host[1:-1])
    else:
        host = authority.partition(":")[0].rstrip(".")
        valid = bool(host) and _HOST_CHARACTERS.issuperset(host)
    if not valid or len(host) > MAX_HOST_LENGTH:
        return OTHER_REFERRER
    return host


def _classify(user_agent: str) -> str:
    ua = user_agent.lower()
    if any(token in ua for token in _TABLET_TOKENS):
        return TABLET
    if "android" in ua:
        return MOBILE if "mobi" in ua else TABLET  # Android tablets leave "Mobile" out
    if any(token in ua for token in _MOBILE_TOKENS):
        return MOBILE
    if ua.startswith(("mozilla/", "opera/")) and any(token in ua for token in _DESKTOP_TOKENS):
        return DESKTOP
    return OTHER  # tools, libraries, bots, garbage


_cached_class = lru_cache(maxsize=2048)(_classify)


def device_class(user_agent: str) -> str:
    """The device class letter of a User-Agent: desktop, mobile, tablet or other."""
    if not user_agent:
        return OTHER
    if len(user_agent) > _CACHED_LENGTH:
        return _classify(user_agent[: 4 * _CACHED_LENGTH])
    return _cached_class(user_agent)
