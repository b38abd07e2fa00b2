"""The OpenAPI 3.1 document of the admin API, kept beside the routes it describes.

Schemathesis fuzzes the API against this document (tests/admin_api/test_fuzz.py), so every
schema says exactly what the server accepts: a body the schema allows is created, one it
forbids is refused. Unknown body fields are ignored, hence no `additionalProperties: false`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from admin_api.stats import CSV, LinkStats, ServiceStats
from shared.keys import CODE_PATTERN
from shared.settings import Settings
from shared.stats import KEEP_DAYS

# A JSON Schema pattern may match anywhere: shared/keys.py's regex, anchored.
CODE_SCHEMA_PATTERN = f"^{CODE_PATTERN.pattern}$"
# What normalize_url accepts without rewriting: http(s), a plain host, optional port, path,
# query and fragment of URL-safe characters. The server also accepts Unicode hosts (stored in
# punycode) and IPv6 literals; this pattern documents the common subset.
TARGET_URL_PATTERN = (
    "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[1-9][0-9]{0,3})?"
    "(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?"
    "(#[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$"
)
CURSOR_PATTERN = "^[0-9]{1,19}-[0-9]{1,19}$"
# 1 to 100 characters, at least one not a space, none a control character.
KEY_NAME_PATTERN = (
    "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
)
KEY_ID_PATTERN = "^[0-9a-f]{16}$"

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_DATE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(
    description: str, schema: str | None = None, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": _ref(schema)}}
    if headers:
        response["headers"] = headers
    return response


def _json_body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": schema or {"type": "string"}}


UNAUTHORIZED = _response(
    "Missing or invalid API key",
    "Error",
    {"WWW-Authenticate": _header("Always `Bearer`", {"type": "string", "const": "Bearer"})},
)
READ_ONLY = _response("The API key is read-only", "Error")
BOOTSTRAP_ONLY = _response("Only the bootstrap key may manage API keys", "Error")
UNAVAILABLE_RESPONSE = _response(
    "Redis is not answering; retry shortly",
    "Error",
    {"Retry-After": _header("Seconds to wait", {"type": "string", "pattern": "^[0-9]+$"})},
)
TOO_LARGE = _response("Body over 64 KiB", "Error")
BAD_BODY = _response("Validation failed, or the body is not a JSON object", "ValidationError")
NOT_FOUND = _response("Unknown code", "Error")


def _protected(responses: dict[str, Any], *, writes: bool = False) -> dict[str, Any]:
    """Every /api/v1 route: 401 without a valid key, 503 while Redis is down."""
    extra = {"401": UNAUTHORIZED, "503": UNAVAILABLE_RESPONSE}
    if writes:
        extra["403"] = READ_ONLY
    return {**responses, **extra}


def _link_request(now: datetime) -> dict[str, Any]:
    # The server accepts any future instant up to year 9999. JSON Schema cannot say "future",
    # so the document promises a subset that is always future: from next year on.
    next_year = now.year + 1
    return {
        "type": "object",
        "required": ["targetUrl"],
        "properties": {
            "targetUrl": {
                "type": "string",
                "minLength": 1,
                "maxLength": 2048,
                "pattern": TARGET_URL_PATTERN,
                "description": "Absolute http(s) URL; Unicode hosts are stored in punycode",
            },
            "expiresAt": {
                "type": ["string", "null"],
                "format": "date-time",
                "pattern": _year_at_least(next_year),
                "description": "ISO 8601 with offset, in the future (any future instant is "
                "accepted; the pattern documents years from next year to 9999)",
            },
            "maxViews": {"type": ["integer", "null"], "minimum": 1, "maximum": 2147483647},
            "password": {"type": ["string", "null"], "minLength": 1, "maxLength": 1024},
            "customCode": {"type": ["string", "null"], "pattern": CODE_SCHEMA_PATTERN},
            "tags": TAGS,
            "clickToOpen": {
                "type": ["boolean", "null"],
                "description": 'true: a person must click "Open link" first; the view is '
                "counted on that click",
            },
        },
    }


def _link_change(now: datetime) -> dict[str, Any]:
    """PATCH: any of the create fields but customCode; null clears (targetUrl excepted)."""
    fields = _link_request(now)["properties"]
    return {
        "type": "object",
        "minProperties": 1,
        "description": "At least one of the fields; a body naming none answers 400 Nothing to "
        "change. targetUrl cannot be set on a file link.",
        "properties": {
            name: fields[name]
            for name in ("targetUrl", "expiresAt", "maxViews", "password", "tags", "clickToOpen")
        },
        "anyOf": [
            {"required": [name]}
            for name in ("targetUrl", "expiresAt", "maxViews", "password", "tags", "clickToOpen")
        ],
    }


def _file_request(now: datetime) -> dict[str, Any]:
    """The same optional fields as form fields (text), plus the file itself."""
    fields = _link_request(now)["properties"]
    return {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "minLength": 1,
                "description": "1 byte to SECURELINK_MAX_UPLOAD_BYTES; its filename (last path "
                "segment) and Content-Type (type/subtype, else application/octet-stream) are kept",
            },
            "expiresAt": {**fields["expiresAt"], "type": "string"},
            "maxViews": {
                "type": "string",
                "pattern": "^[1-9][0-9]{0,8}$",
                "description": "A decimal integer from 1 to 2147483647 (the pattern documents "
                "1 to 999999999)",
            },
            "password": {"type": "string", "minLength": 1, "maxLength": 1024},
            "customCode": {"type": "string", "pattern": CODE_SCHEMA_PATTERN},
            "tags": {
                "type": "string",
                "pattern": "^[a-z0-9_-]{1,32}(,[a-z0-9_-]{1,32}){0,9}$",
                "description": "Comma-separated tags",
            },
            "clickToOpen": {"type": "string", "enum": ["true", "false"]},
        },
    }


def _year_at_least(year: int) -> str:
    """A pattern for the years `year` to 9998 (9999 is left out: an offset could push it past)."""
    blocks: list[tuple[str, int, int]] = []  # (leading digits, next digit, free digits)
    current = year
    while current <= 9998:
        free = 3
        while free and (current % 10**free or current + 10**free - 1 > 9998):
            free -= 1
        text = f"{current:04d}"[: 4 - free]
        blocks.append((text[:-1], int(text[-1]), free))
        current += 10**free
    groups: dict[tuple[str, int], list[int]] = {}  # consecutive digits: one character class
    for head, digit, free in blocks:
        groups.setdefault((head, free), []).append(digit)
    alternatives = [
        f"{head}[{min(digits)}-{max(digits)}]" + "[0-9]" * free
        for (head, free), digits in groups.items()
    ]
    return f"^({'|'.join(alternatives)})-"


TAG_PATTERN = "^[a-z0-9_-]{1,32}$"
TAGS = {
    "type": ["array", "null"],
    "maxItems": 10,
    "uniqueItems": True,
    "items": {"type": "string", "pattern": TAG_PATTERN},
    "description": "At most 10 tags; duplicates are dropped",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "1 to 255 printable ASCII characters, scoped to the API key, kept 24 hours: "
    "the same key with the same body replays the first answer",
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]{0,253}[\\x21-\\x7e])?$"},
}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` on a replayed answer",
        "required": False,
        "schema": {"type": "string", "const": "true"},
    }
}
IDEMPOTENCY_CONFLICT = _response("A request with this Idempotency-Key is in progress", "Error")
IDEMPOTENCY_MISMATCH = _response("Idempotency-Key was used with a different request", "Error")
TAG_QUERY = {
    "name": "tag",
    "in": "query",
    "schema": {"type": "string", "pattern": TAG_PATTERN},
}

LINK = {
    "type": "object",
    "required": [
        "shortCode",
        "shortUrl",
        "targetUrl",
        "kind",
        "expiresAt",
        "maxViews",
        "views",
        "remainingViews",
        "passwordProtected",
        "status",
        "createdAt",
        "lastViewedAt",
        "tags",
        "clickToOpen",
    ],
    "properties": {
        "shortCode": {"type": "string", "pattern": CODE_SCHEMA_PATTERN},
        "shortUrl": {"type": "string"},
        "targetUrl": _NULLABLE_STRING,
        "kind": {"type": "string", "enum": ["url", "file"]},
        "expiresAt": _NULLABLE_DATE_TIME,
        "maxViews": {"type": ["integer", "null"], "minimum": 1},
        "views": {"type": "integer", "minimum": 0},
        "remainingViews": {"type": ["integer", "null"], "minimum": 0},
        "passwordProtected": {"type": "boolean"},
        "status": {"type": "string", "enum": ["active", "expired", "exhausted", "revoked"]},
        "createdAt": {"type": "string", "format": "date-time"},
        "lastViewedAt": _NULLABLE_DATE_TIME,
        "tags": {"type": "array", "items": {"type": "string", "pattern": TAG_PATTERN}},
        "clickToOpen": {"type": "boolean"},
        "fileName": {"type": "string"},
        "fileSize": {"type": "integer", "minimum": 0},
        "contentType": {"type": "string"},
    },
}

API_KEY = {
    "type": "object",
    "required": ["id", "name", "readOnly", "createdAt", "lastUsedAt", "disabledAt"],
    "properties": {
        "id": {"type": "string", "pattern": KEY_ID_PATTERN},
        "name": {"type": "string"},
        "readOnly": {"type": "boolean"},
        "createdAt": {"type": "string", "format": "date-time"},
        "lastUsedAt": {**_NULLABLE_DATE_TIME, "description": "Noted at most once a minute"},
        "disabledAt": _NULLABLE_DATE_TIME,
    },
}

NEW_API_KEY = {
    "type": "object",
    "required": [*API_KEY["required"], "key"],
    "properties": {
        **API_KEY["properties"],  # type: ignore[dict-item]
        "key": {"type": "string", "description": "The secret: shown this once, never again"},
    },
}

API_KEY_REQUEST = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": KEY_NAME_PATTERN},
        "readOnly": {"type": ["boolean", "null"], "description": "Default false"},
    },
}


def _error(with_errors: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "status": {"type": "integer"},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "referenceId": {"type": "string"},
    }
    if with_errors:
        properties["errors"] = {"type": "array", "items": {"type": "string"}}
    return {"type": "object", "required": ["status", "error", "message"], "properties": properties}


def _path_parameter(name: str, pattern: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": pattern},
    }


CODE_PARAMETER = _path_parameter("code", CODE_SCHEMA_PATTERN)
LOCATION = {"Location": _header("/api/v1/links/{shortCode}")}
PUBLIC: list[dict[str, list[str]]] = []  # no security requirement


def _stats_parameters(default_days: int) -> list[dict[str, Any]]:
    days = {"type": "integer", "minimum": 1, "maximum": KEEP_DAYS, "default": default_days}
    output = {"type": "string", "enum": ["json", "csv"], "default": "json"}
    return [
        {"name": "days", "in": "query", "required": False, "schema": days,
         "description": "UTC days of the window, ending today"},
        {"name": "format", "in": "query", "required": False, "schema": output,
         "description": "csv: a header row, then one row a day, oldest first"},
    ]  # fmt: skip


def _stats_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": _ref(schema)},
            CSV: {"schema": {"type": "string"}},
        },
    }


def _stats_schemas() -> dict[str, Any]:
    """LinkStats and ServiceStats as msgspec describes them: the wire models are the schema."""
    _, components = msgspec.json.schema_components(
        [LinkStats, ServiceStats], ref_template="#/components/schemas/{name}"
    )
    return components


def _paths() -> dict[str, Any]:
    return {
        "/api/v1/links": {
            "post": {
                "summary": "Create a short link",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _json_body("CreateLinkRequestDto"),
                "responses": _protected(
                    {
                        "201": _response("Created", "Link", {**LOCATION, **REPLAYED}),
                        "400": BAD_BODY,
                        "409": _response(
                            "customCode is taken, or a request with this Idempotency-Key is "
                            "in progress",
                            "Error",
                        ),
                        "413": TOO_LARGE,
                        "422": IDEMPOTENCY_MISMATCH,
                    },
                    writes=True,
                ),
            },
            "get": {
                "summary": "List links, newest first",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "nextCursor of the previous page",
                        "schema": {"type": "string", "pattern": CURSOR_PATTERN},
                    },
                    {**TAG_QUERY, "description": "Only links carrying this tag"},
                ],
                "responses": _protected(
                    {
                        "200": _response("A page of links", "LinkPage"),
                        "400": _response("Bad limit, cursor or tag", "ValidationError"),
                    }
                ),
            },
            "delete": {
                "summary": "Delete every link carrying a tag (load-test teardown)",
                "description": "Safe to run again after an interruption: it finishes the job.",
                "parameters": [{**TAG_QUERY, "required": True}],
                "responses": _protected(
                    {
                        "200": _response("How many links were deleted", "DeletedCount"),
                        "400": _response("No tag, or a bad one", "ValidationError"),
                    },
                    writes=True,
                ),
            },
        },
        "/api/v1/links/revoke": {
            "post": {
                "summary": "Revoke every link carrying a tag",
                "requestBody": _json_body("RevokeByTagRequest"),
                "responses": _protected(
                    {
                        "200": _response("How many links this call revoked", "RevokedCount"),
                        "400": BAD_BODY,
                        "413": TOO_LARGE,
                    },
                    writes=True,
                ),
            },
        },
        "/api/v1/links/batch": {
            "post": {
                "summary": "Create up to 1000 links, each on its own",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _json_body("BatchRequest"),
                "responses": _protected(
                    {
                        "200": _response(
                            "One result per item, in request order", "BatchResponse", REPLAYED
                        ),
                        "400": BAD_BODY,
                        "409": IDEMPOTENCY_CONFLICT,
                        "413": _response("Body over 4 MiB", "Error"),
                        "422": IDEMPOTENCY_MISMATCH,
                    },
                    writes=True,
                ),
            },
        },
        "/api/v1/links/{code}": {
            "get": {
                "summary": "A link with its views and status as of now",
                "parameters": [CODE_PARAMETER],
                "responses": _protected({"200": _response("The link", "Link"), "404": NOT_FOUND}),
            },
            "patch": {
                "summary": "Change a link in one atomic step; its key TTL is recomputed",
                "description": "A link expired or exhausted but still held becomes active again "
                "when the change gives it room; views counted so far are kept.",
                "parameters": [CODE_PARAMETER],
                "requestBody": _json_body("UpdateLinkRequest"),
                "responses": _protected(
                    {
                        "200": _response("The changed link", "Link"),
                        "400": _response(
                            "Validation failed (also targetUrl on a file link: 'targetUrl: "
                            "cannot be set on a file link'), nothing to change, or not a JSON "
                            "object",
                            "ValidationError",
                        ),
                        "404": NOT_FOUND,
                        "409": _response("A revoked link cannot be changed", "Error"),
                        "413": TOO_LARGE,
                    },
                    writes=True,
                ),
            },
            "delete": {
                "summary": "Delete a link, its stats and its file now; the code is free again",
                "parameters": [CODE_PARAMETER],
                "responses": _protected(
                    {"204": _response("Deleted"), "404": NOT_FOUND}, writes=True
                ),
            },
        },
        "/api/v1/links/{code}/revoke": {
            "post": {
                "summary": "Revoke a link (idempotent)",
                "parameters": [CODE_PARAMETER],
                "responses": _protected(
                    {"200": _response("The revoked link", "Link"), "404": NOT_FOUND}, writes=True
                ),
            },
        },
        "/api/v1/links/{code}/stats": {
            "get": {
                "summary": "A link's views and previews by UTC day, its referrers and devices",
                "description": "Every day of the window, oldest first, zeros included. "
                "Readable while the link is held (its retention too); gone with the link.",
                "parameters": [CODE_PARAMETER, *_stats_parameters(30)],
                "responses": _protected(
                    {
                        "200": _stats_response("The link's stats", "LinkStats"),
                        "400": _response("days or format out of range", "ValidationError"),
                        "404": NOT_FOUND,
                    }
                ),
            },
        },
        "/api/v1/stats": {
            "get": {
                "summary": "The whole service's views, previews, 404s and 410s by UTC day",
                "parameters": _stats_parameters(7),
                "responses": _protected(
                    {
                        "200": _stats_response(
                            "Every day of the window, oldest first", "ServiceStats"
                        ),
                        "400": _response("days or format out of range", "ValidationError"),
                    }
                ),
            },
        },
        "/api/v1/files": {
            "post": {
                "summary": "Upload a file and create a download link to it",
                "parameters": [IDEMPOTENCY_KEY],
                "description": "The file is streamed to disk, never held whole in memory. "
                "Form fields may come before or after the file part.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": _ref("CreateFileRequest"),
                            "encoding": {"file": {"contentType": "*/*"}},
                        }
                    },
                },
                "responses": _protected(
                    {
                        "201": _response("Created; kind is file", "Link", {**LOCATION, **REPLAYED}),
                        "400": _response(
                            "Validation failed (a missing or empty file included), "
                            "or the body is not multipart/form-data",
                            "ValidationError",
                        ),
                        "409": _response(
                            "customCode is taken, or a request with this Idempotency-Key is "
                            "in progress",
                            "Error",
                        ),
                        "413": _response(
                            "File over SECURELINK_MAX_UPLOAD_BYTES, or form fields over 64 KiB",
                            "Error",
                        ),
                        "422": IDEMPOTENCY_MISMATCH,
                    },
                    writes=True,
                ),
            },
        },
        "/api/v1/keys": {
            "post": {
                "summary": "Make a named API key (bootstrap key only); its secret is shown once",
                "requestBody": _json_body("CreateApiKeyRequest"),
                "responses": _protected(
                    {
                        "201": _response(
                            "Created",
                            "NewApiKey",
                            {"Location": _header("/api/v1/keys/{id}")},
                        ),
                        "400": BAD_BODY,
                        "403": BOOTSTRAP_ONLY,
                        "413": TOO_LARGE,
                    }
                ),
            },
            "get": {
                "summary": "Named API keys, oldest first (bootstrap key only); never the secrets",
                "responses": _protected(
                    {"200": _response("The keys", "ApiKeyList"), "403": BOOTSTRAP_ONLY}
                ),
            },
        },
        "/api/v1/keys/{id}": {
            "delete": {
                "summary": "Disable a named API key at once (bootstrap key only; idempotent)",
                "parameters": [_path_parameter("id", KEY_ID_PATTERN)],
                "responses": _protected(
                    {
                        "204": _response("Disabled"),
                        "403": BOOTSTRAP_ONLY,
                        "404": _response("Unknown key id", "Error"),
                    }
                ),
            },
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": PUBLIC,
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            },
        },
        "/-/healthz": {
            "get": {
                "summary": "200 while the process runs",
                "security": PUBLIC,
                "responses": {
                    "200": {
                        "description": "Alive",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            },
        },
        "/-/readyz": {
            "get": {
                "summary": "200 when Redis answers, else 503",
                "security": PUBLIC,
                "responses": {
                    "200": {
                        "description": "Ready",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["status"],
                                    "properties": {"status": {"const": "ready"}},
                                }
                            }
                        },
                    },
                    "503": UNAVAILABLE_RESPONSE,
                },
            },
        },
        "/-/metrics": {
            "get": {
                "summary": "Prometheus text format",
                "security": PUBLIC,
                "responses": {
                    "200": {
                        "description": "Metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            },
        },
    }


def openapi_document(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Built per request (the expiresAt pattern follows the clock); the admin API is not hot."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "securelink admin API",
            "version": "1.0.0",
            "description": "Every /api/v1 route needs `Authorization: Bearer <key>`. "
            "Unknown body fields are ignored.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "CreateLinkRequestDto": _link_request(now or datetime.now(UTC)),
                "CreateFileRequest": _file_request(now or datetime.now(UTC)),
                "UpdateLinkRequest": _link_change(now or datetime.now(UTC)),
                "RevokeByTagRequest": {
                    "type": "object",
                    "required": ["tag"],
                    "properties": {"tag": {"type": "string", "pattern": TAG_PATTERN}},
                },
                "RevokedCount": {
                    "type": "object",
                    "required": ["revoked"],
                    "properties": {"revoked": {"type": "integer", "minimum": 0}},
                },
                "DeletedCount": {
                    "type": "object",
                    "required": ["deleted"],
                    "properties": {"deleted": {"type": "integer", "minimum": 0}},
                },
                "Link": LINK,
                "LinkPage": {
                    "type": "object",
                    "required": ["items", "nextCursor"],
                    "properties": {
                        "items": {"type": "array", "items": _ref("Link")},
                        "nextCursor": {"type": ["string", "null"], "pattern": CURSOR_PATTERN},
                    },
                },
                "BatchRequest": {
                    "type": "object",
                    "required": ["links"],
                    "properties": {
                        "links": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 1000,
                            # Any item is taken: a bad one gets its own 400 in `results`.
                            "items": {
                                "description": "A CreateLinkRequestDto; each item is checked "
                                "on its own and an invalid one is reported in its result"
                            },
                        }
                    },
                },
                "BatchResponse": {
                    "type": "object",
                    "required": ["results"],
                    "properties": {
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["index", "status"],
                                "properties": {
                                    "index": {"type": "integer", "minimum": 0},
                                    "status": {"type": "integer", "enum": [201, 400, 409, 503]},
                                    "link": _ref("Link"),
                                    "errors": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        }
                    },
                },
                "CreateApiKeyRequest": API_KEY_REQUEST,
                "ApiKey": API_KEY,
                "NewApiKey": NEW_API_KEY,
                "ApiKeyList": {
                    "type": "object",
                    "required": ["items"],
                    "properties": {"items": {"type": "array", "items": _ref("ApiKey")}},
                },
                **_stats_schemas(),
                "Error": _error(),
                "ValidationError": _error(with_errors=True),
            },
        },
    }
