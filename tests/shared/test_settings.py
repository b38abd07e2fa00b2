"""Settings.from_env: every variable, its default, and a message naming a malformed one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.endpoint import RedisEndpoint
from shared.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]

EVERY_VARIABLE = {
    "SECURELINK_REDIS_URL": "rediss://cache.internal:6380/2",
    "SECURELINK_REDIS_CLUSTER": "1",
    "SECURELINK_KEY_PREFIX": "prod-eu",
    "SECURELINK_HOST": "0.0.0.0",
    "SECURELINK_REDIRECTOR_PORT": "9080",
    "SECURELINK_ADMIN_PORT": "9081",
    "SECURELINK_WORKERS": "4",
    "SECURELINK_PUBLIC_BASE_URL": "https://sl.example/",
    "SECURELINK_ADMIN_KEY": "k" * 32,
    "SECURELINK_DATA_DIR": "/var/lib/securelink",
    "SECURELINK_RETENTION_SECONDS": "3600",
    "SECURELINK_MAX_UPLOAD_BYTES": "1048576",
    "SECURELINK_REDIS_TIMEOUT_MS": "250",
    "SECURELINK_ARGON2_PROFILE": "test",
    "SECURELINK_HASH_THREADS": "2",
    "SECURELINK_REFERRER_POLICY": "same-origin",
    "SECURELINK_LOG_LEVEL": "INFO",
    "SECURELINK_LOG_FORMAT": "json",
    "SECURELINK_ACCESS_LOG": "1",
    "SECURELINK_SERVER": "granian",
}


def test_unset_variables_take_the_contract_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.redis is None
    assert settings.redis_cluster is False
    assert settings.key_prefix == "sl"
    assert settings.host == "127.0.0.1"
    assert settings.redirector_port == 8080
    assert settings.admin_port == 8081
    assert settings.workers == 1
    assert settings.public_base_url == "http://localhost:8080"
    assert settings.admin_key is None
    assert settings.data_dir == Path("./data")
    assert settings.retention_seconds == 604800
    assert settings.max_upload_bytes == 104857600
    assert settings.redis_timeout_ms == 500
    assert settings.argon2_profile == "owasp"
    assert settings.log_level == "warning"
    assert settings.log_format == "text"
    assert settings.access_log is False
    assert settings.server == "uvicorn"


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(EVERY_VARIABLE)

    assert settings == Settings(
        redis=RedisEndpoint.from_url("rediss://cache.internal:6380/2"),
        redis_cluster=True,
        key_prefix="prod-eu",
        host="0.0.0.0",
        redirector_port=9080,
        admin_port=9081,
        workers=4,
        public_base_url="https://sl.example",
        admin_key="k" * 32,
        data_dir=Path("/var/lib/securelink"),
        retention_seconds=3600,
        max_upload_bytes=1048576,
        redis_timeout_ms=250,
        argon2_profile="test",
        hash_threads=2,
        referrer_policy="same-origin",
        log_level="info",
        log_format="json",
        access_log=True,
        server="granian",
    )


def test_empty_variable_counts_as_unset() -> None:
    settings = Settings.from_env({"SECURELINK_REDIRECTOR_PORT": "", "SECURELINK_KEY_PREFIX": ""})

    assert settings.redirector_port == 8080
    assert settings.key_prefix == "sl"


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURELINK_RETENTION_SECONDS", "42")

    settings = Settings.from_env()

    assert settings.retention_seconds == 42


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "SECURELINK_REDIS_URL",
            "localhost:6379",
            "must be a redis:// or rediss:// URL with a host",
        ),
        ("SECURELINK_REDIS_URL", "redis://", "must be a redis:// or rediss:// URL with a host"),
        ("SECURELINK_REDIS_CLUSTER", "yes", "must be 0 or 1"),
        ("SECURELINK_KEY_PREFIX", "a{b}", "must be 1 to 64 characters without spaces or braces"),
        ("SECURELINK_KEY_PREFIX", "a b", "must be 1 to 64 characters without spaces or braces"),
        ("SECURELINK_KEY_PREFIX", "p" * 65, "must be 1 to 64 characters without spaces or braces"),
        ("SECURELINK_HOST", "   ", "must not be blank"),
        ("SECURELINK_REDIRECTOR_PORT", "eighty", "must be an integer"),
        ("SECURELINK_REDIRECTOR_PORT", "0", "must be between 1 and 65535"),
        ("SECURELINK_ADMIN_PORT", "65536", "must be between 1 and 65535"),
        ("SECURELINK_WORKERS", "0", "must be between 1 and 256"),
        ("SECURELINK_PUBLIC_BASE_URL", "sl.example", "must be an http:// or https:// URL"),
        ("SECURELINK_ADMIN_KEY", "two words", "must not contain whitespace or control characters"),
        ("SECURELINK_ADMIN_KEY", "tab\tkey", "must not contain whitespace or control characters"),
        ("SECURELINK_RETENTION_SECONDS", "-1", "must be between 1 and 1000000000"),
        ("SECURELINK_RETENTION_SECONDS", "1.5", "must be an integer"),
        ("SECURELINK_MAX_UPLOAD_BYTES", "100MB", "must be an integer"),
        ("SECURELINK_REDIS_TIMEOUT_MS", "5", "must be between 10 and 60000"),
        ("SECURELINK_ARGON2_PROFILE", "fast", "must be one of owasp, rfc9106-low, test"),
        ("SECURELINK_HASH_THREADS", "100", "must be between 1 and 64"),
        ("SECURELINK_REFERRER_POLICY", " ", "must not be blank"),
        (
            "SECURELINK_LOG_LEVEL",
            "loud",
            "must be one of critical, error, warning, info, debug",
        ),
        ("SECURELINK_LOG_FORMAT", "xml", "must be text or json"),
        ("SECURELINK_ACCESS_LOG", "yes", "must be 0 or 1"),
        ("SECURELINK_SERVER", "gunicorn", "must be one of uvicorn, granian"),
    ],
)
def test_malformed_variable_fails_naming_it(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})

    assert str(raised.value) == f"{variable}: {message} (got {value!r})"


def test_services_need_a_redis_url() -> None:
    settings = Settings.from_env({})

    with pytest.raises(SettingsError, match=r"^SECURELINK_REDIS_URL is not set"):
        settings.require_redis()


@pytest.mark.parametrize(
    ("module", "variable"),
    [("redirector", "SECURELINK_REDIRECTOR_PORT"), ("admin_api", "SECURELINK_RETENTION_SECONDS")],
)
def test_service_with_a_malformed_variable_exits_naming_it(module: str, variable: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECURELINK_")}
    env["SECURELINK_REDIS_URL"] = "redis://127.0.0.1:1/0"
    env[variable] = "not-a-number"

    result = subprocess.run(
        [sys.executable, "-m", module],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode != 0
    assert f"{variable}: must be an integer (got 'not-a-number')" in result.stderr


def test_a_short_admin_key_is_accepted() -> None:
    settings = Settings.from_env({"SECURELINK_ADMIN_KEY": "secret"})

    assert settings.admin_key == "secret"


def test_a_redis_url_with_a_bad_port_or_database_fails_naming_the_variable() -> None:
    messages = []
    for url in ("redis://cache:99999/0", "redis://cache:6379/abc", "redis://cache:port/0"):
        with pytest.raises(SettingsError) as caught:
            Settings.from_env({"SECURELINK_REDIS_URL": url})
        messages.append(str(caught.value).split(" (got")[0])

    assert messages == [
        "SECURELINK_REDIS_URL: must have a port from 1 to 65535",
        "SECURELINK_REDIS_URL: must name the database by its number, as in redis://host:6379/0",
        "SECURELINK_REDIS_URL: must have a port from 1 to 65535",
    ]


def test_every_setting_is_read_from_one_variable_and_defaults_only_in_its_field() -> None:
    from dataclasses import MISSING, fields

    from shared.settings import _VARIABLES

    names = [field.name for field in fields(Settings)]

    assert list(_VARIABLES) == names
    assert all(field.default is not MISSING for field in fields(Settings))
    assert Settings.from_env({}) == Settings()
