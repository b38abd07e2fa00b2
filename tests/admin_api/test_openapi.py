"""The OpenAPI document: generated from the wire models, with their limits; its hand-built
expiry pattern says exactly what the server accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from admin_api.apikeys import MAX_NAME_LENGTH, validate_key_request
from admin_api.errors import ValidationFailed
from admin_api.openapi import REF_TEMPLATE, _year_at_least, openapi_document
from admin_api.validation import (
    MAX_PASSWORD_LENGTH,
    MAX_TAGS,
    MAX_URL_LENGTH,
    MAX_VIEWS,
    PATCH_FIELDS,
)
from admin_api.wire import (
    MAX_BATCH_LINKS,
    ApiKeyList,
    BatchRequest,
    BatchResponse,
    DeletedCount,
    LinkPage,
    NewApiKey,
    RevokeByTagRequest,
    RevokedCount,
)
from shared.keys import CODE_PATTERN, TAG_PATTERN
from shared.models import FileLink, Link
from shared.settings import Settings
from tests.support.links import create_code


@pytest.mark.parametrize("year", [2026, 2027, 2099, 2100, 8999, 9000, 9998])
def test_expiry_pattern_matches_exactly_next_year_to_9998(year: int) -> None:
    pattern = re.compile(_year_at_least(year))

    matched = [y for y in range(10000) if pattern.match(f"{y:04d}-01-01T00:00:00Z")]

    assert matched == list(range(year, 9999))


def test_expiry_pattern_starts_at_the_year_after_now() -> None:
    document = openapi_document(Settings(), now=datetime(2026, 11, 25, tzinfo=UTC))

    expires = document["components"]["schemas"]["CreateLinkRequestDto"]["properties"]["expiresAt"]

    assert re.match(expires["pattern"], "2027-01-01T00:00:00Z")
    assert not re.match(expires["pattern"], "2026-12-31T00:00:00Z")


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = openapi_document(Settings())["components"]["schemas"]
    return schemas


def test_link_schema_is_generated_from_both_link_models() -> None:
    link = _schemas()["Link"]

    url_fields = [field.encode_name for field in msgspec.structs.fields(Link)]
    file_fields = [field.encode_name for field in msgspec.structs.fields(FileLink)]
    assert list(link["properties"]) == file_fields
    assert link["required"] == url_fields
    assert link["properties"]["shortCode"]["pattern"] == f"^{CODE_PATTERN.pattern}$"
    assert link["properties"]["tags"]["items"]["pattern"] == f"^{TAG_PATTERN.pattern}$"


def test_request_limits_are_the_validators_own() -> None:
    schemas = _schemas()

    create = schemas["CreateLinkRequestDto"]["properties"]
    assert create["targetUrl"]["maxLength"] == MAX_URL_LENGTH
    assert create["maxViews"]["anyOf"][0]["maximum"] == MAX_VIEWS
    assert create["password"]["anyOf"][0]["maxLength"] == MAX_PASSWORD_LENGTH
    assert create["tags"]["anyOf"][0]["maxItems"] == MAX_TAGS
    assert schemas["BatchRequest"]["properties"]["links"]["maxItems"] == MAX_BATCH_LINKS
    assert schemas["CreateApiKeyRequest"]["properties"]["name"]["maxLength"] == MAX_NAME_LENGTH


def test_patch_schema_names_exactly_the_fields_a_patch_may_change() -> None:
    change = _schemas()["UpdateLinkRequest"]

    assert tuple(change["properties"]) == PATCH_FIELDS
    assert change["anyOf"] == [{"required": [name]} for name in PATCH_FIELDS]
    assert change["minProperties"] == 1


@pytest.mark.parametrize(
    "model",
    [RevokeByTagRequest, BatchRequest, BatchResponse, LinkPage, NewApiKey],
)
def test_a_models_schema_is_msgspecs_own(model: type[msgspec.Struct]) -> None:
    _, generated = msgspec.json.schema_components([model], ref_template=REF_TEMPLATE)

    assert _schemas()[model.__name__] == generated[model.__name__]


def test_the_answers_are_what_the_models_say(admin_client: TestClient) -> None:
    create_code(admin_client, tags=["docs"], maxViews=3)
    upload = admin_client.post("/api/v1/files", files={"file": ("a.txt", b"hello", "text/plain")})
    batch = admin_client.post("/api/v1/links/batch", json={"links": [{"targetUrl": ""}, {}]})
    page = admin_client.get("/api/v1/links", params={"limit": 1})
    key = admin_client.post("/api/v1/keys", json={"name": "docs"})
    keys = admin_client.get("/api/v1/keys")
    revoked = admin_client.post("/api/v1/links/revoke", json={"tag": "docs"})
    deleted = admin_client.delete("/api/v1/links", params={"tag": "docs"})

    # Strict decoding: every constraint of the model holds on the real answer.
    assert msgspec.json.decode(upload.content, type=FileLink).kind == "file"
    assert msgspec.json.decode(batch.content, type=BatchResponse).results[0].status == 400
    assert msgspec.json.decode(page.content, type=LinkPage).next_cursor is not None
    assert msgspec.json.decode(key.content, type=NewApiKey).name == "docs"
    assert len(msgspec.json.decode(keys.content, type=ApiKeyList).items) == 1
    assert msgspec.json.decode(revoked.content, type=RevokedCount).revoked == 1
    assert msgspec.json.decode(deleted.content, type=DeletedCount).deleted == 1


@pytest.mark.parametrize(
    "name",
    [
        "ops",
        "é",
        "a b",
        "a\u00a0",
        "\u00a0",
        " ",
        "a\u00adb",
        "\u202eab",
        "a\x7f",
        "a\u2028",
        "\U000e0020",
    ],
)
def test_key_name_pattern_matches_exactly_the_names_the_server_accepts(name: str) -> None:
    pattern = _schemas()["CreateApiKeyRequest"]["properties"]["name"]["pattern"]

    try:
        validate_key_request({"name": name})
        accepted = True
    except ValidationFailed:
        accepted = False

    assert bool(re.match(pattern, name)) is accepted
