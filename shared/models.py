"""The Link model, its wire form, and how it is stored in a Redis hash."""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec

from shared.keys import CODE_PATTERN, TAG_PATTERN


class Field:
    """Short hash field names: they are stored once per link, so they count toward memory."""

    TARGET = "t"  # url links: the target URL; file links: the stored file name
    KIND = "k"  # absent for url links, "f" for file links
    EXPIRES = "e"  # expiresAt, ms since the epoch
    MAX_VIEWS = "m"
    VIEWS = "v"  # absent until the first view
    PASSWORD = "p"  # Argon2id hash
    REVOKED = "r"  # revokedAt, ms
    CREATED = "c"  # createdAt, whole seconds (server clock): 16 bytes a link less than ms
    LAST_VIEWED = "l"  # lastViewedAt, ms
    FILE_NAME = "fn"
    FILE_SIZE = "fs"
    CONTENT_TYPE = "ct"
    FILE_SHA256 = "fh"
    CLICK_TO_OPEN = "o"  # "1" when a person must click "Open link" first; absent otherwise
    TAGS = "g"  # the link's tags, comma-separated; absent when none


FILE_KIND = "f"


class Status(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    REVOKED = "revoked"


# The wire types' constraints, for the OpenAPI document (msgspec.json.schema_components): the
# server only encodes these models; what it accepts is checked by admin_api/validation.py.
# A JSON Schema pattern may match anywhere, hence the anchors.
ShortCode = Annotated[str, msgspec.Meta(pattern=f"^{CODE_PATTERN.pattern}$")]
Tag = Annotated[str, msgspec.Meta(pattern=f"^{TAG_PATTERN.pattern}$")]
Count = Annotated[int, msgspec.Meta(ge=0)]
DateTime = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]


class Link(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    short_code: ShortCode
    short_url: str
    target_url: str | None
    kind: Literal["url", "file"]
    expires_at: DateTime | None
    max_views: Annotated[int, msgspec.Meta(ge=1)] | None
    views: Count
    remaining_views: Count | None
    password_protected: bool
    status: Status
    created_at: DateTime
    last_viewed_at: DateTime | None
    tags: list[Tag]
    click_to_open: bool


class FileLink(Link, frozen=True, kw_only=True, rename="camel"):
    file_name: str
    file_size: Count
    content_type: str


def now_ms() -> int:
    """Wall clock in the unit the scripts use."""
    return time.time_ns() // 1_000_000  # a batch reads it a thousand times: no datetime


# A batch formats the same creation second (and often the same expiry) a thousand times.
@functools.lru_cache(maxsize=1024)
def format_ms(ms: int) -> str:
    """ISO 8601 in UTC with a Z; milliseconds only when there are any."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    if ms % 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _decoded(raw: Mapping[bytes, bytes] | Mapping[str, str]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }


def split_tags(stored: str | None) -> list[str]:
    """The stored comma-separated tags as a list, in the order they were given."""
    return stored.split(",") if stored else []


def carries_tag(raw: Mapping[bytes, bytes], tag: str) -> bool:
    """Does a hash as redis-py returns it (bytes) carry this tag?"""
    return tag in split_tags(raw.get(Field.TAGS.encode(), b"").decode())


def link_status(fields: Mapping[str, str], at_ms: int) -> Status:
    """Revocation wins over expiry, expiry over exhaustion: the same order the script checks."""
    if Field.REVOKED in fields:
        return Status.REVOKED
    expires = fields.get(Field.EXPIRES)
    if expires is not None and at_ms >= int(expires):
        return Status.EXPIRED
    max_views = fields.get(Field.MAX_VIEWS)
    if max_views is not None and int(fields.get(Field.VIEWS, "0")) >= int(max_views):
        return Status.EXHAUSTED
    return Status.ACTIVE


def link_from_hash(
    code: str,
    raw: Mapping[bytes, bytes] | Mapping[str, str],
    *,
    public_base_url: str,
    at_ms: int,
) -> Link:
    """Build the wire Link from a stored hash, with status and remaining views as of at_ms."""
    fields = _decoded(raw)
    views = int(fields.get(Field.VIEWS, "0"))
    max_views = int(fields[Field.MAX_VIEWS]) if Field.MAX_VIEWS in fields else None
    expires = fields.get(Field.EXPIRES)
    last_viewed = fields.get(Field.LAST_VIEWED)
    is_file = fields.get(Field.KIND) == FILE_KIND
    common: dict[str, Any] = {
        "short_code": code,
        "short_url": f"{public_base_url}/{code}",
        "target_url": None if is_file else fields[Field.TARGET],
        "kind": "file" if is_file else "url",
        "expires_at": format_ms(int(expires)) if expires is not None else None,
        "max_views": max_views,
        "views": views,
        "remaining_views": max(max_views - views, 0) if max_views is not None else None,
        "password_protected": Field.PASSWORD in fields,
        "status": link_status(fields, at_ms),
        "created_at": format_ms(int(fields[Field.CREATED]) * 1000),
        "last_viewed_at": format_ms(int(last_viewed)) if last_viewed is not None else None,
        "tags": split_tags(fields.get(Field.TAGS)),
        "click_to_open": Field.CLICK_TO_OPEN in fields,
    }
    if is_file:
        return FileLink(
            **common,
            file_name=fields[Field.FILE_NAME],
            file_size=int(fields[Field.FILE_SIZE]),
            content_type=fields[Field.CONTENT_TYPE],
        )
    return Link(**common)
