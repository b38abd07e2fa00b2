"""The admin API's JSON bodies as msgspec Structs, with their limits.

The OpenAPI document's schemas are generated from these (admin_api/openapi.py), so each limit
is written once: here, in validation.py, apikeys.py or shared/keys.py. The answers are built
from the response models. The request models only describe: a body is decoded as plain JSON
and checked by validation.py, which reports every failing field at once in the contract's
words; decoding into these Structs would answer msgspec's words instead.

`UNSET` marks a field a body may leave out; `None` beside it is the null the body may send.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from admin_api.apikeys import CONTROL_CATEGORY, FORMAT_CATEGORIES, ID_LENGTH, MAX_NAME_LENGTH
from admin_api.validation import MAX_PASSWORD_LENGTH, MAX_TAGS, MAX_URL_LENGTH, MAX_VIEWS
from shared.keys import TAG_PATTERN
from shared.models import Count, DateTime, Link, ShortCode, Tag

MAX_JSON_BYTES = 64 * 1024
MAX_BATCH_LINKS = 1000
# A batch may carry 1000 links of 2048-character URLs; 64 KiB would cap it near 300 items.
MAX_BATCH_BYTES = 4 * 1024 * 1024
DEFAULT_PAGE = 50
MAX_PAGE = 1000
CURSOR_PATTERN = re.compile(r"[0-9]{1,19}-[0-9]{1,19}")  # within Redis's 64-bit stream ids

# What normalize_url accepts without rewriting: http(s), a plain host, optional port, path,
# query and fragment of URL-safe characters. The server also accepts Unicode hosts (stored in
# punycode) and IPv6 literals; this pattern documents the common subset.
TARGET_URL_PATTERN = (
    "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[1-9][0-9]{0,3})?"
    "(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?"
    "(#[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$"
)
TargetUrl = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        pattern=TARGET_URL_PATTERN,
        description="Absolute http(s) URL; Unicode hosts are stored in punycode",
    ),
]
# openapi.py adds the pattern of the years it can promise to be in the future.
_EXPIRY = Meta(
    description="ISO 8601 with offset, in the future (any future instant is accepted; the "
    "pattern documents years from next year to 9999)"
)
Expiry = Annotated[DateTime | UnsetType | None, _EXPIRY]
MaxViews = Annotated[int, Meta(ge=1, le=MAX_VIEWS)]
Password = Annotated[str, Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
# Duplicates are accepted (and dropped); the document promises the subset without them.
UniqueTags = Annotated[
    list[Tag], Meta(max_length=MAX_TAGS, extra_json_schema={"uniqueItems": True})
]
TagList = Annotated[
    UniqueTags | UnsetType | None,
    Meta(description=f"At most {MAX_TAGS} tags; duplicates are dropped"),
]
ClickToOpen = Annotated[
    bool | UnsetType | None,
    Meta(
        description='true: a person must click "Open link" first; the view is counted on that click'
    ),
]
Cursor = Annotated[str, Meta(pattern=f"^{CURSOR_PATTERN.pattern}$")]
KeyId = Annotated[str, Meta(pattern=f"^[0-9a-f]{{{ID_LENGTH}}}$")]
# A form's maxViews: every number of fewer digits than MAX_VIEWS is in range.
_FORM_DIGITS = len(str(MAX_VIEWS)) - 1
_FORM_TAG = TAG_PATTERN.pattern


@functools.cache
def key_name_pattern() -> str:
    """What validate_key_request accepts: a character not a space, none of a refused category.

    Spelled out character by character (JSON Schema's regex has no Unicode categories) from
    this Python's Unicode tables, the ones the server checks with; a scan of every code point.
    Lone surrogates (Cs) are left out: a JSON Schema regex cannot name them (jsonschema-rs
    refuses the whole pattern), and they are no text a client would send.
    """
    refused = {CONTROL_CATEGORY, *FORMAT_CATEGORIES} - {"Cs"}
    ranges: list[list[int]] = []
    for point in range(sys.maxunicode + 1):
        if unicodedata.category(chr(point)) in refused:
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1][1] = point
            else:
                ranges.append([point, point])
    # \uXXXX escapes in the plane both regex dialects read alike; the rest as characters.
    spelled = "".join(
        _escaped(first) + (f"-{_escaped(last)}" if last > first else "") for first, last in ranges
    )
    return f"^[^{spelled}]*[^\\s{spelled}][^{spelled}]*$"


def _escaped(point: int) -> str:
    return f"\\u{point:04x}" if point <= 0xFFFF else chr(point)


class CreateLinkRequestDto(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    target_url: TargetUrl
    expires_at: Expiry = UNSET
    max_views: MaxViews | UnsetType | None = UNSET
    password: Password | UnsetType | None = UNSET
    custom_code: ShortCode | UnsetType | None = UNSET
    tags: TagList = UNSET
    click_to_open: ClickToOpen = UNSET


class UpdateLinkRequest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """At least one of the fields; a body naming none answers 400 Nothing to change. targetUrl
    cannot be set on a file link."""

    target_url: TargetUrl | UnsetType = UNSET
    expires_at: Expiry = UNSET
    max_views: MaxViews | UnsetType | None = UNSET
    password: Password | UnsetType | None = UNSET
    tags: TagList = UNSET
    click_to_open: ClickToOpen = UNSET


class CreateFileRequest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The same optional fields as form fields (text), plus the file itself."""

    file: Annotated[
        str,
        Meta(
            min_length=1,
            extra_json_schema={"contentMediaType": "application/octet-stream"},
            description="1 byte to SECURELINK_MAX_UPLOAD_BYTES; its filename (last path "
            "segment) and Content-Type (type/subtype, else application/octet-stream) are kept",
        ),
    ]
    expires_at: Annotated[DateTime | UnsetType, _EXPIRY] = UNSET
    max_views: (
        Annotated[
            str,
            Meta(
                pattern=f"^[1-9][0-9]{{0,{_FORM_DIGITS - 1}}}$",
                description=f"A decimal integer from 1 to {MAX_VIEWS} (the pattern documents "
                f"1 to {10**_FORM_DIGITS - 1})",
            ),
        ]
        | UnsetType
    ) = UNSET
    password: Password | UnsetType = UNSET
    custom_code: ShortCode | UnsetType = UNSET
    tags: (
        Annotated[
            str,
            Meta(
                pattern=f"^{_FORM_TAG}(,{_FORM_TAG}){{0,{MAX_TAGS - 1}}}$",
                description="Comma-separated tags",
            ),
        ]
        | UnsetType
    ) = UNSET
    click_to_open: Literal["true", "false"] | UnsetType = UNSET


class RevokeByTagRequest(msgspec.Struct, frozen=True, kw_only=True):
    tag: Tag


class BatchRequest(msgspec.Struct, frozen=True, kw_only=True):
    links: Annotated[
        # Any item is taken: a bad one gets its own 400 in `results`.
        list[
            Annotated[
                Any,
                Meta(
                    description="A CreateLinkRequestDto; each item is checked on its own and an "
                    "invalid one is reported in its result"
                ),
            ]
        ],
        Meta(min_length=1, max_length=MAX_BATCH_LINKS),
    ]


class CreateApiKeyRequest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    # openapi.py adds key_name_pattern(): too slow to build at import.
    name: Annotated[str, Meta(min_length=1, max_length=MAX_NAME_LENGTH)]
    read_only: Annotated[bool | UnsetType | None, Meta(description="Default false")] = UNSET


class RevokedCount(msgspec.Struct, frozen=True, kw_only=True):
    revoked: Count


class DeletedCount(msgspec.Struct, frozen=True, kw_only=True):
    deleted: Count


class LinkPage(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    items: list[Link]
    next_cursor: Cursor | None


class BatchResult(msgspec.Struct, frozen=True, kw_only=True):
    index: Count
    status: Literal[201, 400, 409, 503]
    link: Link | UnsetType = UNSET
    errors: list[str] | UnsetType = UNSET


class BatchResponse(msgspec.Struct, frozen=True, kw_only=True):
    results: list[BatchResult]


class ApiKey(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: KeyId
    name: str
    read_only: bool
    created_at: DateTime
    last_used_at: Annotated[DateTime | None, Meta(description="Noted at most once a minute")]
    disabled_at: DateTime | None


class NewApiKey(ApiKey, frozen=True, kw_only=True, rename="camel"):
    key: Annotated[str, Meta(description="The secret: shown this once, never again")]


class ApiKeyList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ApiKey]
