"""Creating links through the admin API, the way every test that needs one does it."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

PLAIN_TARGET = "https://example.com/"


def create_link(client: TestClient, **fields: Any) -> dict[str, Any]:
    """POST /api/v1/links with these fields (PLAIN_TARGET unless targetUrl is given); the 201's
    link."""
    response = client.post("/api/v1/links", json={"targetUrl": PLAIN_TARGET, **fields})
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


def create_code(client: TestClient, **fields: Any) -> str:
    """create_link, for a test that needs only the short code."""
    code: str = create_link(client, **fields)["shortCode"]
    return code
