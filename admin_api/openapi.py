"""The OpenAPI 3.1 document of the admin API, kept beside the routes it describes."""

from __future__ import annotations

from typing import Any

from shared.settings import Settings

_NULLABLE_STRING = {"type": ["string", "null"]}


def _error(with_errors: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "status": {"type": "integer"},
        "error": {"type": "string"},
        "message": {"type": "string"},
    }
    if with_errors:
        properties["errors"] = {"type": "array", "items": {"type": "string"}}
    return {"type": "object", "required": ["status", "error", "message"], "properties": properties}


def _response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


LINK_REQUEST = {
    "type": "object",
    "required": ["targetUrl"],
    "properties": {
        "targetUrl": {"type": "string", "format": "uri", "maxLength": 2048},
        "expiresAt": {"type": ["string", "null"], "format": "date-time"},
        "maxViews": {"type": ["integer", "null"], "minimum": 1, "maximum": 2147483647},
        "password": {"type": ["string", "null"], "minLength": 1, "maxLength": 1024},
        "customCode": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_-]{4,64}$"},
    },
}

LINK = {
    "type": "object",
    "required": [
        "shortCode", "shortUrl", "targetUrl", "kind", "expiresAt", "maxViews", "views",
        "remainingViews", "passwordProtected", "status", "createdAt", "lastViewedAt",
    ],
    "properties": {
        "shortCode": {"type": "string"},
        "shortUrl": {"type": "string"},
        "targetUrl": _NULLABLE_STRING,
        "kind": {"type": "string", "enum": ["url", "file"]},
        "expiresAt": _NULLABLE_STRING,
        "maxViews": {"type": ["integer", "null"]},
        "views": {"type": "integer", "minimum": 0},
        "remainingViews": {"type": ["integer", "null"], "minimum": 0},
        "passwordProtected": {"type": "boolean"},
        "status": {"type": "string", "enum": ["active", "expired", "exhausted", "revoked"]},
        "createdAt": {"type": "string"},
        "lastViewedAt": _NULLABLE_STRING,
        "fileName": {"type": "string"},
        "fileSize": {"type": "integer"},
        "contentType": {"type": "string"},
    },
}

CODE_PARAMETER = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}

UNAUTHORIZED = _response("Missing or invalid API key", "Error")


def openapi_document(settings: Settings) -> dict[str, Any]:
    """Built per request from constants: cheap, and the admin API is not a hot path."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "securelink admin API", "version": "1.0.0"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/links": {
                "post": {
                    "summary": "Create a short link",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateLinkRequestDto"}}},
                    },
                    "responses": {
                        "201": _response("Created", "Link"),
                        "400": _response("Validation failed or malformed JSON", "ValidationError"),
                        "401": UNAUTHORIZED,
                        "409": _response("customCode is taken", "Error"),
                        "413": _response("Body over 64 KiB", "Error"),
                    },
                },
                "get": {
                    "summary": "List links, newest first",
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": _response("A page of links", "LinkPage"),
                        "400": _response("Bad limit or cursor", "ValidationError"),
                        "401": UNAUTHORIZED,
                    },
                },
            },
            "/api/v1/links/batch": {
                "post": {
                    "summary": "Create up to 1000 links, each on its own",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}},
                    },
                    "responses": {
                        "200": _response("One result per item, in request order", "BatchResponse"),
                        "400": _response("Not a list of 1 to 1000 items", "ValidationError"),
                        "401": UNAUTHORIZED,
                        "413": _response("Body over 64 KiB", "Error"),
                    },
                },
            },
            "/api/v1/links/{code}": {
                "get": {
                    "summary": "A link with its views and status as of now",
                    "parameters": [CODE_PARAMETER],
                    "responses": {
                        "200": _response("The link", "Link"),
                        "401": UNAUTHORIZED,
                        "404": _response("Unknown code", "Error"),
                    },
                },
            },
            "/api/v1/links/{code}/revoke": {
                "post": {
                    "summary": "Revoke a link (idempotent)",
                    "parameters": [CODE_PARAMETER],
                    "responses": {
                        "200": _response("The revoked link", "Link"),
                        "401": UNAUTHORIZED,
                        "404": _response("Unknown code", "Error"),
                    },
                },
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "CreateLinkRequestDto": LINK_REQUEST,
                "Link": LINK,
                "LinkPage": {
                    "type": "object",
                    "required": ["items", "nextCursor"],
                    "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
                        "nextCursor": _NULLABLE_STRING,
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
                            "items": {"$ref": "#/components/schemas/CreateLinkRequestDto"},
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
                                    "index": {"type": "integer"},
                                    "status": {"type": "integer"},
                                    "link": {"$ref": "#/components/schemas/Link"},
                                    "errors": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        }
                    },
                },
                "Error": _error(),
                "ValidationError": _error(with_errors=True),
            },
        },
    }
