"""The OpenAPI 3.1 document of the admin API, kept beside the routes it describes.

Schemathesis fuzzes the API against this document (tests/acceptance/test_fuzz.py), so every
schema says exactly what the server accepts: a body the schema allows is created, one it
forbids is refused. Unknown body fields are ignored, hence no `additionalProperties: false`.

The bodies' schemas are generated from the wire models (admin_api/wire.py, shared/models.py,
admin_api/stats.py), which carry their limits; written here is only what msgspec cannot say:
the routes and their answers, headers, the error bodies, and "in the future".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from admin_api.files import MAX_FORM_BYTES
from admin_api.idempotency import KEEP_SECONDS, MAX_KEY_LENGTH
from admin_api.stats import CSV, LINK_DAYS, SERVICE_DAYS, LinkStats, ServiceStats
from admin_api.validation import PATCH_FIELDS
from admin_api.wire import (
    DEFAULT_PAGE,
    MAX_BATCH_BYTES,
    MAX_BATCH_LINKS,
    MAX_JSON_BYTES,
    MAX_PAGE,
    ApiKeyList,
    BatchRequest,
    BatchResponse,
    CreateApiKeyRequest,
    CreateFileRequest,
    CreateLinkRequestDto,
    Cursor,
    DeletedCount,
    KeyId,
    LinkPage,
    NewApiKey,
    RevokeByTagRequest,
    RevokedCount,
    UpdateLinkRequest,
    key_name_pattern,
)
from shared.models import FileLink, Link, ShortCode, Tag
from shared.settings import Settings
from shared.stats import KEEP_DAYS

REF_TEMPLATE = "#/components/schemas/{name}"
# Every body and answer; the models they refer to (Link, ApiKey, ...) come along.
MODELS = (
    CreateLinkRequestDto,
    UpdateLinkRequest,
    CreateFileRequest,
    RevokeByTagRequest,
    BatchRequest,
    BatchResponse,
    RevokedCount,
    DeletedCount,
    FileLink,
    LinkPage,
    CreateApiKeyRequest,
    NewApiKey,
    ApiKeyList,
    LinkStats,
    ServiceStats,
)
# The bodies with an expiresAt, which must be in the future.
WITH_EXPIRY = ("CreateLinkRequestDto", "UpdateLinkRequest", "CreateFileRequest")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(name=name)}


def _schema(annotated: Any) -> dict[str, Any]:
    """A parameter's schema from the model's own type (a pattern, a limit)."""
    schema: dict[str, Any] = msgspec.json.schema(annotated)
    return schema


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


def _kib(size: int) -> str:
    return f"{size // 1024} KiB" if size < 1024 * 1024 else f"{size // (1024 * 1024)} MiB"


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
TOO_LARGE = _response(f"Body over {_kib(MAX_JSON_BYTES)}", "Error")
BAD_BODY = _response("Validation failed, or the body is not a JSON object", "ValidationError")
NOT_FOUND = _response("Unknown code", "Error")


def _protected(responses: dict[str, Any], *, writes: bool = False) -> dict[str, Any]:
    """Every /api/v1 route: 401 without a valid key, 503 while Redis is down."""
    extra = {"401": UNAUTHORIZED, "503": UNAVAILABLE_RESPONSE}
    if writes:
        extra["403"] = READ_ONLY
    return {**responses, **extra}


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


def _schemas(now: datetime) -> dict[str, Any]:
    """The models' schemas, plus the three things JSON Schema has to be told by hand."""
    _, schemas = msgspec.json.schema_components(MODELS, ref_template=REF_TEMPLATE)
    # The contract has one Link: a file link's fields are there when its kind is file.
    file_link = schemas.pop("FileLink")
    url_fields = {field.encode_name for field in msgspec.structs.fields(Link)}
    required = [name for name in file_link["required"] if name in url_fields]
    schemas["Link"] = {**file_link, "title": "Link", "required": required}
    # The server accepts any future instant up to year 9999. JSON Schema cannot say "future",
    # so the document promises a subset that is always future: from next year on.
    for name in WITH_EXPIRY:
        schemas[name]["properties"]["expiresAt"]["pattern"] = _year_at_least(now.year + 1)
    schemas["CreateApiKeyRequest"]["properties"]["name"]["pattern"] = key_name_pattern()
    # A PATCH names at least one field it changes.
    schemas["UpdateLinkRequest"] |= {
        "minProperties": 1,
        "anyOf": [{"required": [name]} for name in PATCH_FIELDS],
    }
    return {**schemas, "Error": _error(), "ValidationError": _error(with_errors=True)}


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


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": f"1 to {MAX_KEY_LENGTH} printable ASCII characters, scoped to the API key, "
    f"kept {KEEP_SECONDS // 3600} hours: the same key with the same body replays the first answer",
    # Printable ASCII, neither end a space (a header value's ends are trimmed).
    "schema": {
        "type": "string",
        "pattern": f"^[\\x21-\\x7e]([\\x20-\\x7e]{{0,{MAX_KEY_LENGTH - 2}}}[\\x21-\\x7e])?$",
    },
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
TAG_QUERY = {"name": "tag", "in": "query", "schema": _schema(Tag)}


def _path_parameter(name: str, annotated: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _schema(annotated)}


CODE_PARAMETER = _path_parameter("code", ShortCode)
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


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


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
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_PAGE,
                            "default": DEFAULT_PAGE,
                        },
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "nextCursor of the previous page",
                        "schema": _schema(Cursor),
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
                "summary": f"Create up to {MAX_BATCH_LINKS} links, each on its own",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _json_body("BatchRequest"),
                "responses": _protected(
                    {
                        "200": _response(
                            "One result per item, in request order", "BatchResponse", REPLAYED
                        ),
                        "400": BAD_BODY,
                        "409": IDEMPOTENCY_CONFLICT,
                        "413": _response(f"Body over {_kib(MAX_BATCH_BYTES)}", "Error"),
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
                "parameters": [CODE_PARAMETER, *_stats_parameters(LINK_DAYS)],
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
                "parameters": _stats_parameters(SERVICE_DAYS),
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
                            "File over SECURELINK_MAX_UPLOAD_BYTES, or form fields over "
                            + _kib(MAX_FORM_BYTES),
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
                "parameters": [_path_parameter("id", KeyId)],
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
                "responses": {"200": _text("Alive")},
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
                "responses": {"200": _text("Metrics")},
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
            "schemas": _schemas(now or datetime.now(UTC)),
        },
    }
