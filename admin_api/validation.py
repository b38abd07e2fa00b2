"""CreateLinkRequestDto rules: every failing field is reported at once, in field order."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from admin_api.errors import ValidationFailed
from shared.keys import CODE_PATTERN, TAG_PATTERN, is_valid_code
from shared.urls import ascii_netloc, ascii_url

MAX_URL_LENGTH = 2048
MAX_VIEWS = 2**31 - 1
MAX_PASSWORD_LENGTH = 1024
MAX_EXPIRES_MS = 253402300799999  # 9999-12-31T23:59:59.999Z, the last instant a Link can show
MAX_TAGS = 10
TAGS_ERROR = f"tags: must be at most {MAX_TAGS} tags of {TAG_PATTERN.pattern}"
CLICK_ERROR = "clickToOpen: must be a boolean"
FILE_TARGET_ERROR = "targetUrl: cannot be set on a file link"
# The fields PATCH may change, in the order their errors are listed.
PATCH_FIELDS = ("targetUrl", "expiresAt", "maxViews", "password", "tags", "clickToOpen")
_DECIMAL = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class NewLink:
    """A validated request: what create needs, nothing more."""

    target_url: str | None
    expires_ms: int | None
    max_views: int | None
    password: str | None
    custom_code: str | None
    tags: tuple[str, ...] = ()
    click_to_open: bool = False


@dataclass(frozen=True, slots=True)
class LinkChange:
    """A validated PATCH: only the fields the body named; None there means "clear it"."""

    named: frozenset[str]
    target_url: str | None = None
    expires_ms: int | None = None
    max_views: int | None = None
    password: str | None = None
    tags: tuple[str, ...] = ()
    click_to_open: bool = False


def validate_link_request(
    data: Mapping[str, Any], *, now_ms: int, from_form: bool = False, needs_target: bool = True
) -> NewLink:
    """Check a decoded JSON object (or form fields, where every value is text)."""
    errors: list[str] = []
    target = None
    if needs_target:
        target = _target_url(data.get("targetUrl"), errors)
    expires_ms = _expires_at(data.get("expiresAt"), now_ms, errors)
    max_views = _max_views(data.get("maxViews"), from_form, errors)
    password = _password(data.get("password"), errors)
    custom_code = _custom_code(data.get("customCode"), errors)
    tags = _tags(data.get("tags"), from_form, errors)
    click = _click_to_open(data.get("clickToOpen"), from_form, errors)
    if errors:
        raise ValidationFailed(errors)
    return NewLink(target, expires_ms, max_views, password, custom_code, tags, click)


def validate_link_change(data: Mapping[str, Any], *, now_ms: int, is_file: bool) -> LinkChange:
    """Check a PATCH body: the create rules for each field it names, every failure at once."""
    named = frozenset(name for name in PATCH_FIELDS if name in data)
    errors: list[str] = []
    target = None
    if "targetUrl" in named:
        if is_file:
            errors.append(FILE_TARGET_ERROR)
        else:
            target = _target_url(data["targetUrl"], errors)
    expires_ms = _expires_at(data.get("expiresAt"), now_ms, errors)
    max_views = _max_views(data.get("maxViews"), False, errors)
    password = _password(data.get("password"), errors)
    tags = _tags(data.get("tags"), False, errors)
    click = _click_to_open(data.get("clickToOpen"), False, errors)
    if errors:
        raise ValidationFailed(errors)
    return LinkChange(named, target, expires_ms, max_views, password, tags, click)


def _target_url(value: Any, errors: list[str]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.append("targetUrl: must not be blank")
        return None
    url = normalize_url(value) if isinstance(value, str) else None
    if url is None:
        errors.append("targetUrl: must be a valid URL")
    return url


def normalize_url(raw: str) -> str | None:
    """An absolute http(s) URL with a host, all ASCII (punycode host, %-encoded UTF-8), or None."""
    if len(raw) > MAX_URL_LENGTH:
        return None
    # The common case at a glance: printable ASCII has no control character, and only the
    # space and the backslash of its characters are forbidden.
    plain = raw.isascii() and raw.isprintable() and " " not in raw and "\\" not in raw
    if not plain and any(_is_forbidden(c) for c in raw):
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises for a port that is not a number up to 65535
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    # user-info lets "https://trusted.example@evil.example" look like the trusted host.
    if "@" in parts.netloc or parts.password is not None:
        return None
    netloc = ascii_netloc(parts.netloc)
    if netloc is None:
        return None
    # Location is sent as Latin-1: the stored URL is ASCII, so following it cannot fail.
    try:
        path, query, fragment = (
            ascii_url(part) for part in (parts.path, parts.query, parts.fragment)
        )
    except UnicodeEncodeError:
        return None  # a lone surrogate: no UTF-8, no URL
    url = urlunsplit((parts.scheme.lower(), netloc, path, query, fragment))
    return url if len(url) <= MAX_URL_LENGTH else None


def _is_forbidden(char: str) -> bool:
    """Whitespace, control characters and backslashes (which browsers read as slashes)."""
    return char.isspace() or char == "\\" or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def _expires_at(value: Any, now_ms: int, errors: list[str]) -> int | None:
    if value is None:
        return None
    moment = None
    # RFC 3339 allows a lower-case "t" and "z"; Python 3.11 reads only upper case.
    text = value.upper() if isinstance(value, str) else ""
    if "T" in text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        errors.append("expiresAt: must be an ISO 8601 date-time with offset")
        return None
    ms = int(moment.timestamp() * 1000)
    if ms > MAX_EXPIRES_MS:
        # e.g. 9999-12-31T23:59:59-14:00: past year 9999 in UTC, which ISO 8601 cannot write.
        errors.append("expiresAt: must be an ISO 8601 date-time with offset")
        return None
    if ms <= now_ms:
        errors.append("expiresAt: must be a future date")
        return None
    return ms


def _max_views(value: Any, from_form: bool, errors: list[str]) -> int | None:
    if value is None:
        return None
    if from_form and isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 5.0 is the integer 5 (as JSON Schema says)
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append("maxViews: must be an integer")
        return None
    if value <= 0:
        errors.append("maxViews: must be greater than 0")
        return None
    if value > MAX_VIEWS:
        errors.append(f"maxViews: must be at most {MAX_VIEWS}")
        return None
    return value


def _password(value: Any, errors: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_PASSWORD_LENGTH:
        errors.append(f"password: must be 1 to {MAX_PASSWORD_LENGTH} characters")
        return None
    return value


def _custom_code(value: Any, errors: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_valid_code(value):
        errors.append(f"customCode: must match {CODE_PATTERN.pattern}")
        return None
    return value


def _tags(value: Any, from_form: bool, errors: list[str]) -> tuple[str, ...]:
    """Duplicates dropped (first one kept), then at most 10 left."""
    if value is None:
        return ()
    if from_form and isinstance(value, str):
        value = [part.strip() for part in value.split(",")] if value.strip() else []
    if not isinstance(value, list) or not all(
        isinstance(tag, str) and TAG_PATTERN.fullmatch(tag) for tag in value
    ):
        errors.append(TAGS_ERROR)
        return ()
    unique = tuple(dict.fromkeys(value))
    if len(unique) > MAX_TAGS:
        errors.append(TAGS_ERROR)
        return ()
    return unique


def _click_to_open(value: Any, from_form: bool, errors: list[str]) -> bool:
    if value is None:
        return False
    if from_form and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        errors.append(CLICK_ERROR)
        return False
    return value
