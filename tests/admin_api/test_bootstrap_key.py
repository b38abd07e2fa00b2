"""The bootstrap admin key opens every /api/v1 route; anything else gets the contract's 401."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from admin_api.app import create_app
from shared.settings import Settings
from tests.conftest import ADMIN_KEY

UNAUTHORIZED = {"status": 401, "error": "Unauthorized", "message": "Missing or invalid API key"}

LINK_ROUTES = [
    ("POST", "/api/v1/links"),
    ("GET", "/api/v1/links"),
    ("POST", "/api/v1/links/batch"),
    ("GET", "/api/v1/links/abcd"),
    ("POST", "/api/v1/links/abcd/revoke"),
]

BAD_HEADERS = [
    pytest.param({}, id="missing"),
    pytest.param({"Authorization": ""}, id="empty"),
    pytest.param({"Authorization": "Bearer"}, id="bearer-without-key"),
    pytest.param({"Authorization": "Bearer wrong-key-wrong-key-wrong"}, id="wrong-key"),
    pytest.param({"Authorization": f"Basic {ADMIN_KEY}"}, id="basic-scheme"),
    pytest.param({"Authorization": f"Bearer {ADMIN_KEY}x"}, id="key-with-extra"),
    pytest.param({"Authorization": f"Bearer {ADMIN_KEY[:-1]}"}, id="key-prefix"),
]


@pytest.mark.parametrize(("method", "path"), LINK_ROUTES)
@pytest.mark.parametrize("headers", BAD_HEADERS)
def test_link_routes_refuse_a_missing_or_wrong_key(
    app_settings: Settings, method: str, path: str, headers: dict[str, str]
) -> None:
    with TestClient(create_app(app_settings)) as client:
        response = client.request(
            method, path, headers=headers, json={"targetUrl": "https://example.com/"}
        )

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"] == "Bearer"


def test_bootstrap_key_opens_the_link_routes(admin_client: TestClient) -> None:
    created = admin_client.post("/api/v1/links", json={"targetUrl": "https://example.com/"})
    listed = admin_client.get("/api/v1/links")

    assert created.status_code == 201
    assert listed.status_code == 200


def test_scheme_name_is_case_insensitive(app_settings: Settings) -> None:
    with TestClient(create_app(app_settings)) as client:
        response = client.get("/api/v1/links", headers={"Authorization": f"bearer {ADMIN_KEY}"})

    assert response.status_code == 200


def test_without_a_bootstrap_key_no_key_is_accepted(app_settings: Settings) -> None:
    settings = dataclasses.replace(app_settings, admin_key=None)

    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/links", headers={"Authorization": f"Bearer {ADMIN_KEY}"})

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize("path", ["/-/healthz", "/-/readyz", "/-/metrics", "/openapi.json"])
def test_health_metrics_and_openapi_need_no_key(app_settings: Settings, path: str) -> None:
    with TestClient(create_app(app_settings)) as client:
        response = client.get(path)

    assert response.status_code == 200
