"""GET /{code} for targets typed with non-ASCII characters: an ASCII Location, never a 500."""

from __future__ import annotations

import redis
from starlette.testclient import TestClient

from shared.keys import Keys
from shared.models import Field
from tests.support.links import create_code

TYPED = "https://a.example/€?q=é#à"
ENCODED = "https://a.example/%E2%82%AC?q=%C3%A9#%C3%A0"


def _views(admin: TestClient, code: str) -> int:
    views: int = admin.get(f"/api/v1/links/{code}").json()["views"]
    return views


def test_link_created_with_non_ascii_target_redirects_to_its_encoded_form_once(
    admin_client: TestClient, redirector_client: TestClient
) -> None:
    code = create_code(admin_client, targetUrl=TYPED)

    response = redirector_client.get(f"/{code}")

    assert response.status_code == 302
    assert response.headers["location"] == ENCODED
    assert _views(admin_client, code) == 1


def test_non_ascii_target_stored_by_older_data_is_encoded_in_location(
    admin_client: TestClient,
    redirector_client: TestClient,
    redis_sync: redis.Redis,
    key_prefix: str,
) -> None:
    code = create_code(admin_client, targetUrl="https://a.example/")
    redis_sync.hset(Keys(key_prefix).link(code), Field.TARGET, TYPED.encode())

    response = redirector_client.get(f"/{code}")

    assert response.status_code == 302
    assert response.headers["location"] == ENCODED
    assert _views(admin_client, code) == 1
