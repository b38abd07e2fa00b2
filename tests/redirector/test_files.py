"""File links on the redirector, in process: the bytes, the headers, HEAD, passwords, gone files."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.typing import EncodableT, FieldT
from starlette.testclient import TestClient

from redirector.app import create_app
from redirector.downloads import ascii_fallback, content_disposition
from shared.endpoint import RedisEndpoint
from shared.keys import Keys
from shared.passwords import Passwords
from shared.settings import Settings

CONTENT = b"%PDF-1.7 the quarterly numbers\n" * 100


@pytest.fixture
def settings(redis_url: str, key_prefix: str, tmp_path: Path) -> Settings:
    return Settings(
        redis=RedisEndpoint.from_url(redis_url),
        key_prefix=key_prefix,
        data_dir=tmp_path,
        argon2_profile="test",
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


MakeFileLink = Callable[..., tuple[str, Path]]


@pytest.fixture
def make_file_link(settings: Settings, redis_sync: redis.Redis) -> Iterator[MakeFileLink]:
    def make(
        *,
        name: str = "report.pdf",
        content_type: str = "application/pdf",
        content: bytes = CONTENT,
        max_views: int | None = None,
        password_hash: str | None = None,
    ) -> tuple[str, Path]:
        code = secrets.token_hex(6)
        stored = secrets.token_hex(16)
        directory = settings.data_dir / "files"
        directory.mkdir(exist_ok=True)
        (directory / stored).write_bytes(content)
        fields: dict[FieldT, EncodableT] = {
            "t": stored,
            "k": "f",
            "fn": name,
            "fs": str(len(content)),
            "ct": content_type,
            "fh": "0" * 64,
            "c": "1700000000",
        }
        if max_views is not None:
            fields["m"] = str(max_views)
        if password_hash is not None:
            fields["p"] = password_hash
        redis_sync.hset(Keys(settings.key_prefix).link(code), mapping=fields)
        return code, directory / stored

    yield make


def views(redis_sync: redis.Redis, settings: Settings, code: str) -> int:
    raw = redis_sync.hget(Keys(settings.key_prefix).link(code), "v")
    return int(raw) if raw else 0


def test_file_link_answers_200_with_the_bytes_as_an_attachment(
    client: TestClient, make_file_link: MakeFileLink, redis_sync: redis.Redis, settings: Settings
) -> None:
    code, _ = make_file_link()

    response = client.get(f"/{code}")

    assert response.status_code == 200
    assert response.content == CONTENT
    assert response.headers["content-length"] == str(len(CONTENT))
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="report.pdf"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, no-store"
    assert views(redis_sync, settings, code) == 1


def test_text_files_keep_their_stored_type_without_an_added_charset(
    client: TestClient, make_file_link: MakeFileLink
) -> None:
    code, _ = make_file_link(name="notes.txt", content_type="text/plain")

    response = client.get(f"/{code}")

    assert response.headers["content-type"] == "text/plain"


def test_head_answers_like_get_and_counts_nothing(
    client: TestClient, make_file_link: MakeFileLink, redis_sync: redis.Redis, settings: Settings
) -> None:
    code, _ = make_file_link(max_views=1)

    head = client.head(f"/{code}")
    again = client.head(f"/{code}")

    assert head.status_code == again.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(CONTENT))
    assert head.headers["content-disposition"] == 'attachment; filename="report.pdf"'
    assert views(redis_sync, settings, code) == 0
    assert client.get(f"/{code}").content == CONTENT


def test_range_requests_get_the_whole_file(
    client: TestClient, make_file_link: MakeFileLink
) -> None:
    code, _ = make_file_link()

    response = client.get(f"/{code}", headers={"Range": "bytes=0-9"})

    assert response.status_code == 200
    assert response.content == CONTENT
    assert response.headers["accept-ranges"] == "none"


def test_the_view_limit_holds_for_files(client: TestClient, make_file_link: MakeFileLink) -> None:
    code, _ = make_file_link(max_views=1)

    first = client.get(f"/{code}")
    second = client.get(f"/{code}", headers={"Accept": "application/json"})

    assert first.status_code == 200
    assert second.status_code == 410
    assert second.json()["message"] == "This link has reached its view limit."


def test_unicode_file_name_gets_an_ascii_fallback_and_filename_star(
    client: TestClient, make_file_link: MakeFileLink
) -> None:
    code, _ = make_file_link(name="résumé 2026 📄.pdf")

    response = client.get(f"/{code}")

    assert response.headers["content-disposition"] == (
        'attachment; filename="resume 2026 _.pdf"; '
        "filename*=UTF-8''r%C3%A9sum%C3%A9%202026%20%F0%9F%93%84.pdf"
    )


def test_missing_file_answers_410_and_is_logged_once(
    client: TestClient, make_file_link: MakeFileLink, caplog: pytest.LogCaptureFixture
) -> None:
    code, path = make_file_link()
    path.unlink()

    with caplog.at_level(logging.ERROR, logger="securelink"):
        first = client.get(f"/{code}", headers={"Accept": "application/json"})
        second = client.get(f"/{code}", headers={"Accept": "application/json"})

    assert first.status_code == second.status_code == 410
    assert first.json()["message"] == "This file is no longer available."
    missing = [r for r in caplog.records if "file of a live link is missing" in r.getMessage()]
    assert len(missing) == 1


def test_password_protected_file_comes_back_from_the_right_password(
    client: TestClient, make_file_link: MakeFileLink, redis_sync: redis.Redis, settings: Settings
) -> None:
    async def hash_password() -> str:
        passwords = Passwords("test", 1)
        try:
            return await passwords.hash("open sesame")
        finally:
            passwords.close()

    code, _ = make_file_link(password_hash=asyncio.run(hash_password()))

    form = client.get(f"/{code}")
    head = client.head(f"/{code}")
    wrong = client.post(f"/{code}", data={"password": "nope"})
    right = client.post(f"/{code}", data={"password": "open sesame"})

    assert form.status_code == 200 and "text/html" in form.headers["content-type"]
    assert head.status_code == 200 and "content-disposition" not in head.headers
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert right.content == CONTENT
    assert right.headers["content-disposition"] == 'attachment; filename="report.pdf"'
    assert views(redis_sync, settings, code) == 1


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("report.pdf", "report.pdf"),
        ('say "hi".txt', "say _hi_.txt"),
        ("a\r\nContent-Type: text/html", "a__Content-Type_ text_html"),
        ("..\\..\\boot.ini", "_.._boot.ini"),
        ("100%.txt", "100_.txt"),
        ("a;b.txt", "a_b.txt"),
        ("отчёт", "download"),
        ("...", "download"),
        ("отчёт.txt", "download.txt"),
        ("data.отчёт", "data"),
        ("Ärger.txt", "Arger.txt"),
    ],
)
def test_ascii_fallback_is_safe_inside_quotes(name: str, fallback: str) -> None:
    assert ascii_fallback(name) == fallback


def test_content_disposition_never_carries_raw_control_characters() -> None:
    header = content_disposition('a\r\nb"c/d.txt')

    assert header == (
        "attachment; filename=\"a__b_c_d.txt\"; filename*=UTF-8''a%0D%0Ab%22c%2Fd.txt"
    )
