"""POST /api/v1/files in process: multipart parsing, validation, limits, what stays on disk."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from admin_api.app import create_app
from admin_api.files import clean_file_name
from shared.endpoint import RedisEndpoint
from shared.keys import Keys
from shared.settings import Settings
from tests.support.raw import raw_hash
from tests.support.uploads import CONTENT_TYPE, FilePart, multipart

ADMIN_KEY = "test-admin-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
MAX_UPLOAD = 4096


@pytest.fixture
def settings(redis_url: str, key_prefix: str, tmp_path: Path) -> Settings:
    return Settings(
        redis=RedisEndpoint.from_url(redis_url),
        key_prefix=key_prefix,
        admin_key=ADMIN_KEY,
        data_dir=tmp_path,
        argon2_profile="test",
        max_upload_bytes=MAX_UPLOAD,
        public_base_url="http://sl.test",
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def files(settings: Settings) -> Path:
    return settings.data_dir / "files"


def upload(client: TestClient, body: bytes, **headers: str) -> Any:
    all_headers = {**AUTH, "Content-Type": CONTENT_TYPE, **headers}
    return client.post("/api/v1/files", content=body, headers=all_headers)


def stored_files(directory: Path) -> list[Path]:
    return sorted(directory.iterdir()) if directory.exists() else []


def test_upload_answers_201_with_a_file_link(client: TestClient, files: Path) -> None:
    body = multipart(FilePart(b"%PDF-1.7 hello", "report.pdf", "application/pdf"))

    response = upload(client, body)

    assert response.status_code == 201, response.text
    link = response.json()
    assert link["kind"] == "file"
    assert link["targetUrl"] is None
    assert link["fileName"] == "report.pdf"
    assert link["fileSize"] == 14
    assert link["contentType"] == "application/pdf"
    assert link["status"] == "active"
    assert link["views"] == 0
    assert link["passwordProtected"] is False
    assert response.headers["location"] == f"/api/v1/links/{link['shortCode']}"
    assert [path.read_bytes() for path in stored_files(files)] == [b"%PDF-1.7 hello"]


def test_stored_file_has_a_random_name_and_its_sha256_is_kept(
    client: TestClient, files: Path, redis_sync: redis.Redis, key_prefix: str
) -> None:
    body = multipart(FilePart(b"payload", "../../etc/passwd"))

    link = upload(client, body).json()

    stored = raw_hash(redis_sync, Keys(key_prefix).link(link["shortCode"]))
    (path,) = stored_files(files)
    assert stored[b"t"].decode() == path.name
    assert len(path.name) == 32 and all(c in "0123456789abcdef" for c in path.name)
    assert stored[b"fh"].decode() == hashlib.sha256(b"payload").hexdigest()
    assert link["fileName"] == "passwd"


def test_form_fields_may_come_before_or_after_the_file(client: TestClient) -> None:
    file = FilePart(b"data")
    fields = [
        ("maxViews", "3"),
        ("customCode", "before-file"),
        ("expiresAt", "2999-01-01T00:00:00Z"),
    ]
    after = [("maxViews", "4"), ("customCode", "after-file")]

    first = upload(client, multipart(*fields, file))
    second = upload(client, multipart(file, *after))

    assert first.status_code == second.status_code == 201
    assert (first.json()["maxViews"], first.json()["shortCode"]) == (3, "before-file")
    assert first.json()["expiresAt"] == "2999-01-01T00:00:00Z"
    assert (second.json()["maxViews"], second.json()["shortCode"]) == (4, "after-file")


def test_max_views_is_read_as_decimal_text(client: TestClient) -> None:
    response = upload(client, multipart(("maxViews", " 12 "), FilePart(b"x")))

    assert response.json()["maxViews"] == 12
    assert response.json()["remainingViews"] == 12


def test_every_failing_form_field_is_listed_at_once_and_no_file_is_kept(
    client: TestClient, files: Path
) -> None:
    body = multipart(
        FilePart(b"data"),
        ("expiresAt", "tomorrow"),
        ("maxViews", "1.5"),
        ("password", ""),
        ("customCode", "no"),
    )

    response = upload(client, body)

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "error": "Bad Request",
        "message": "Validation failed",
        "errors": [
            "expiresAt: must be an ISO 8601 date-time with offset",
            "maxViews: must be an integer",
            "password: must be 1 to 1024 characters",
            "customCode: must match [A-Za-z0-9_-]{4,64}",
        ],
    }
    assert stored_files(files) == []


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0", "maxViews: must be greater than 0"),
        ("-3", "maxViews: must be greater than 0"),
        ("2147483648", "maxViews: must be at most 2147483647"),
        ("ten", "maxViews: must be an integer"),
    ],
)
def test_max_views_text_gets_the_json_error_texts(
    client: TestClient, value: str, error: str
) -> None:
    response = upload(client, multipart(FilePart(b"x"), ("maxViews", value)))

    assert response.status_code == 400
    assert response.json()["errors"] == [error]


def test_past_expiry_is_rejected(client: TestClient) -> None:
    response = upload(client, multipart(FilePart(b"x"), ("expiresAt", "2001-01-01T00:00:00Z")))

    assert response.json()["errors"] == ["expiresAt: must be a future date"]


def test_empty_file_is_400_and_leaves_nothing(client: TestClient, files: Path) -> None:
    response = upload(client, multipart(FilePart(b""), ("maxViews", "0")))

    assert response.status_code == 400
    assert response.json()["errors"] == [
        "file: must not be empty",
        "maxViews: must be greater than 0",
    ]
    assert stored_files(files) == []


def test_missing_file_part_is_400(client: TestClient, files: Path) -> None:
    response = upload(client, multipart(("maxViews", "2")))

    assert response.status_code == 400
    assert response.json()["message"] == "Validation failed"
    assert response.json()["errors"] == ["file: must be present"]
    assert stored_files(files) == []


def test_two_file_parts_are_400_and_leave_nothing(client: TestClient, files: Path) -> None:
    response = upload(client, multipart(FilePart(b"one"), FilePart(b"two")))

    assert response.status_code == 400
    assert response.json()["errors"] == ["file: must be a single part"]
    assert stored_files(files) == []


def test_a_body_that_is_not_multipart_is_400(client: TestClient) -> None:
    response = client.post("/api/v1/files", json={"file": "x"}, headers=AUTH)

    assert response.status_code == 400
    assert response.json()["message"] == "Expected a multipart/form-data body with a file part"


def test_a_body_cut_before_the_closing_boundary_is_400(client: TestClient, files: Path) -> None:
    body = multipart(FilePart(b"data"))[:-40]

    response = upload(client, body)

    assert response.status_code == 400
    assert response.json()["message"] == "Malformed multipart/form-data body"
    assert stored_files(files) == []


def test_file_of_exactly_the_limit_is_accepted(client: TestClient) -> None:
    response = upload(client, multipart(FilePart(b"a" * MAX_UPLOAD)))

    assert response.status_code == 201
    assert response.json()["fileSize"] == MAX_UPLOAD


def test_declared_length_over_the_limit_is_413_before_reading(
    client: TestClient, files: Path
) -> None:
    body = multipart(FilePart(b"a" * (MAX_UPLOAD + 70 * 1024)))

    response = upload(client, body)

    assert response.status_code == 413
    assert response.json() == {
        "status": 413,
        "error": "Request Entity Too Large",
        "message": f"File exceeds {MAX_UPLOAD} bytes",
    }
    assert stored_files(files) == []


def test_streamed_file_over_the_limit_is_413_and_leaves_no_partial_file(
    client: TestClient, files: Path
) -> None:
    body = multipart(FilePart(b"a" * (MAX_UPLOAD + 1)))

    def chunked() -> Iterator[bytes]:  # no Content-Length: only the stream can tell
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    response = upload(client, chunked())  # type: ignore[arg-type]

    assert response.status_code == 413
    assert response.json()["message"] == f"File exceeds {MAX_UPLOAD} bytes"
    assert stored_files(files) == []


def test_form_fields_over_64_kib_are_413(client: TestClient, files: Path) -> None:
    body = multipart(FilePart(b"x"), ("notes", "n" * (65 * 1024)))

    def chunked() -> Iterator[bytes]:
        yield body

    response = upload(client, chunked())  # type: ignore[arg-type]

    assert response.status_code == 413
    assert response.json()["message"] == "Form fields exceed 65536 bytes"
    assert stored_files(files) == []


def test_taken_custom_code_is_409_and_leaves_only_the_first_file(
    client: TestClient, files: Path
) -> None:
    upload(client, multipart(FilePart(b"first"), ("customCode", "taken-code")))

    response = upload(client, multipart(FilePart(b"second"), ("customCode", "taken-code")))

    assert response.status_code == 409
    assert response.json()["message"] == "customCode is already taken"
    assert [path.read_bytes() for path in stored_files(files)] == [b"first"]


def test_password_protected_upload_stores_only_a_hash(
    client: TestClient, redis_sync: redis.Redis, key_prefix: str
) -> None:
    link = upload(client, multipart(FilePart(b"x"), ("password", "s3cret"))).json()

    stored = raw_hash(redis_sync, Keys(key_prefix).link(link["shortCode"]))
    assert link["passwordProtected"] is True
    assert stored[b"p"].startswith(b"$argon2id$")


def test_unicode_file_name_is_kept(client: TestClient) -> None:
    name = "Ütf-8 résumé 📄 отчёт.txt"
    body = multipart(FilePart(b"x", name, "text/plain"))

    link = upload(client, body).json()

    assert link["fileName"] == name
    assert link["contentType"] == "text/plain"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("text/html; charset=utf-8", "text/html"),
        ("IMAGE/PNG", "image/png"),
        ("not a type", "application/octet-stream"),
        ("*/*", "application/octet-stream"),
        ("text/*", "application/octet-stream"),
        ("*/html", "application/octet-stream"),
        ("image/svg+xml", "image/svg+xml"),
        ("application/vnd.api+json", "application/vnd.api+json"),
        ("text/plain\u00e9", "application/octet-stream"),
        (None, "application/octet-stream"),
    ],
)
def test_content_type_is_a_clean_media_type(
    client: TestClient, sent: str | None, stored: str
) -> None:
    link = upload(client, multipart(FilePart(b"x", "a.bin", sent))).json()

    assert link["contentType"] == stored


def test_upload_needs_an_api_key(client: TestClient, files: Path) -> None:
    response = client.post(
        "/api/v1/files",
        content=multipart(FilePart(b"x")),
        headers={"Content-Type": CONTENT_TYPE},
    )

    assert response.status_code == 401
    assert stored_files(files) == []


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("a\r\nb\x00c.txt", "abc.txt"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ("..", "download"),
        ("", "download"),
        ("  spaced  ", "spaced"),
        ("x" * 300 + ".tar.gz", "x" * 252 + ".gz"),
    ],
)
def test_clean_file_name(raw: str, clean: str) -> None:
    assert clean_file_name(raw) == clean


def test_openapi_documents_the_multipart_upload(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    post = document["paths"]["/api/v1/files"]["post"]
    schema = document["components"]["schemas"]["CreateFileRequest"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert set(post["responses"]) >= {"201", "400", "401", "409", "413"}
    assert schema["required"] == ["file"]
    assert set(schema["properties"]) == {
        "file",
        "expiresAt",
        "maxViews",
        "password",
        "customCode",
        "tags",
        "clickToOpen",
    }


def test_a_file_whose_link_create_reply_was_lost_stays_with_its_link(
    client: TestClient, files: Path, redis_sync: redis.Redis, key_prefix: str
) -> None:
    links = client.app.state.services.links  # type: ignore[attr-defined]
    run = links.scripts.run

    async def reply_lost(name: str, keys: Any, args: Any) -> Any:
        await run(name, keys, args)
        raise redis.exceptions.ConnectionError("connection lost before the reply")

    links.scripts.run = reply_lost
    try:
        response = upload(client, multipart(FilePart(b"kept", "a.txt"), ("customCode", "lostfile")))
    finally:
        links.scripts.run = run

    assert response.status_code == 503
    assert redis_sync.exists(Keys(key_prefix).link("lostfile")) == 1
    [stored] = stored_files(files)
    assert stored.read_bytes() == b"kept"
    assert redis_sync.zcard(Keys(key_prefix).files) == 1


def test_an_upload_with_the_same_key_and_file_is_replayed_and_stored_once(
    client: TestClient, files: Path
) -> None:
    body = multipart(FilePart(b"same bytes"), ("maxViews", "2"), ("tags", "load,x"))

    first = upload(client, body, **{"Idempotency-Key": "up-1"})
    again = upload(client, body, **{"Idempotency-Key": "up-1"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert first.json()["tags"] == ["load", "x"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(stored_files(files)) == 1


def test_an_upload_with_the_same_key_and_another_file_is_422(
    client: TestClient, files: Path
) -> None:
    upload(client, multipart(FilePart(b"first file")), **{"Idempotency-Key": "up-2"})

    response = upload(client, multipart(FilePart(b"other file")), **{"Idempotency-Key": "up-2"})

    assert response.status_code == 422
    assert response.json()["message"] == "Idempotency-Key was used with a different request"
    assert len(stored_files(files)) == 1


def test_a_file_links_target_cannot_be_set(client: TestClient) -> None:
    code = upload(client, multipart(FilePart(b"x"))).json()["shortCode"]

    response = client.patch(
        f"/api/v1/links/{code}",
        json={"targetUrl": "https://example.com/", "maxViews": 0},
        headers=AUTH,
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        "targetUrl: cannot be set on a file link",
        "maxViews: must be greater than 0",
    ]


def test_deleting_a_file_link_removes_its_file_at_once(client: TestClient, files: Path) -> None:
    code = upload(client, multipart(FilePart(b"x"))).json()["shortCode"]
    assert len(stored_files(files)) == 1

    response = client.delete(f"/api/v1/links/{code}", headers=AUTH)

    assert response.status_code == 204
    assert stored_files(files) == []
