"""The one place that reads the environment: a frozen Settings built once at start-up."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from shared.endpoint import RedisEndpoint

T = TypeVar("T")

ARGON2_PROFILES = ("owasp", "rfc9106-low", "test")


class SettingsError(ValueError):
    """A variable is missing or malformed; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    # SECURELINK_REDIS_URL, parsed: what both redis-py and the redirector's pipelines connect to.
    redis: RedisEndpoint | None = None
    redis_cluster: bool = False
    key_prefix: str = "sl"
    host: str = "127.0.0.1"
    redirector_port: int = 8080
    admin_port: int = 8081
    workers: int = 1
    public_base_url: str = "http://localhost:8080"
    admin_key: str | None = None
    data_dir: Path = Path("./data")
    retention_seconds: int = 604800
    max_upload_bytes: int = 104857600
    file_sweep_seconds: int = 60
    file_grace_seconds: int = 3600
    redis_timeout_ms: int = 500
    argon2_profile: str = "owasp"
    hash_threads: int = 4
    referrer_policy: str = "no-referrer"
    record_stats: bool = True
    log_level: str = "warning"
    log_format: str = "text"
    access_log: bool = False
    # Slow and greedy clients (shared/http_limits.py): per worker process.
    head_timeout_seconds: int = 20
    body_window_seconds: int = 20
    body_min_bytes: int = 1024
    max_connections: int = 4096
    # The only source of trust for X-Forwarded-For: peers in these networks are proxies.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # The HTTP server under both services: "uvicorn" or "granian" (README: which and why).
    server: str = "uvicorn"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build the settings from SECURELINK_* variables; a bad value names its variable."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field, (name, parse) in _VARIABLES.items():
            raw = env.get(name)
            if raw is None or raw == "":
                continue  # unset or blank: the field's default above
            try:
                values[field] = parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{name}: {exc} (got {raw!r})") from None
        return cls(**values)

    def require_redis(self) -> RedisEndpoint:
        """The services need a server; the embedded one is started only by scripts/run."""
        if self.redis is None:
            raise SettingsError(
                "SECURELINK_REDIS_URL is not set: point it at Redis or Valkey "
                "(redis://host:6379/0), or start everything with ./scripts/run"
            )
        return self.redis


def _non_blank(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be blank")
    return raw.strip()


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError("must be 0 or 1")
    return raw == "1"


def _key_prefix(raw: str) -> str:
    if not raw or any(c in raw for c in "{} \t\r\n") or len(raw) > 64:
        raise ValueError("must be 1 to 64 characters without spaces or braces")
    return raw


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip(), 10)
        except ValueError:
            raise ValueError("must be an integer") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


_port = _bounded_int(1, 65535)


def _base_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return raw.rstrip("/")


def _admin_key(raw: str) -> str:
    # No length rule: deployments and test harnesses choose their own keys; it must only fit
    # in an Authorization header as one Bearer token.
    if any(c.isspace() or not c.isprintable() for c in raw):
        raise ValueError("must not contain whitespace or control characters")
    return raw


def _path(raw: str) -> Path:
    return Path(raw)


def _argon2_profile(raw: str) -> str:
    if raw not in ARGON2_PROFILES:
        raise ValueError(f"must be one of {', '.join(ARGON2_PROFILES)}")
    return raw


def _log_level(raw: str) -> str:
    level = raw.lower()
    if level not in ("critical", "error", "warning", "info", "debug"):
        raise ValueError("must be one of critical, error, warning, info, debug")
    return level


SERVERS = ("uvicorn", "granian")


def _server(raw: str) -> str:
    if raw not in SERVERS:
        raise ValueError(f"must be one of {', '.join(SERVERS)}")
    return raw


def _log_format(raw: str) -> str:
    if raw not in ("text", "json"):
        raise ValueError("must be text or json")
    return raw


def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or CIDR networks, e.g. `10.0.0.0/8, 127.0.0.1, ::1`."""
    networks = []
    for item in raw.split(","):
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or CIDR network") from None
    return tuple(networks)


# Each field read from the environment: its variable and the parser of its value. The
# defaults are the dataclass fields' only.
_VARIABLES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "redis": ("SECURELINK_REDIS_URL", RedisEndpoint.from_url),
    "redis_cluster": ("SECURELINK_REDIS_CLUSTER", _flag),
    "key_prefix": ("SECURELINK_KEY_PREFIX", _key_prefix),
    "host": ("SECURELINK_HOST", _non_blank),
    "redirector_port": ("SECURELINK_REDIRECTOR_PORT", _port),
    "admin_port": ("SECURELINK_ADMIN_PORT", _port),
    "workers": ("SECURELINK_WORKERS", _bounded_int(1, 256)),
    "public_base_url": ("SECURELINK_PUBLIC_BASE_URL", _base_url),
    "admin_key": ("SECURELINK_ADMIN_KEY", _admin_key),
    "data_dir": ("SECURELINK_DATA_DIR", _path),
    "retention_seconds": ("SECURELINK_RETENTION_SECONDS", _bounded_int(1, 10**9)),
    "max_upload_bytes": ("SECURELINK_MAX_UPLOAD_BYTES", _bounded_int(1, 2**62)),
    "file_sweep_seconds": ("SECURELINK_FILE_SWEEP_SECONDS", _bounded_int(1, 86400)),
    "file_grace_seconds": ("SECURELINK_FILE_GRACE_SECONDS", _bounded_int(1, 10**7)),
    "redis_timeout_ms": ("SECURELINK_REDIS_TIMEOUT_MS", _bounded_int(10, 60000)),
    "argon2_profile": ("SECURELINK_ARGON2_PROFILE", _argon2_profile),
    "hash_threads": ("SECURELINK_HASH_THREADS", _bounded_int(1, 64)),
    "referrer_policy": ("SECURELINK_REFERRER_POLICY", _non_blank),
    "record_stats": ("SECURELINK_STATS", _flag),
    "log_level": ("SECURELINK_LOG_LEVEL", _log_level),
    "log_format": ("SECURELINK_LOG_FORMAT", _log_format),
    "access_log": ("SECURELINK_ACCESS_LOG", _flag),
    "head_timeout_seconds": ("SECURELINK_HEAD_TIMEOUT_SECONDS", _bounded_int(1, 3600)),
    "body_window_seconds": ("SECURELINK_BODY_WINDOW_SECONDS", _bounded_int(1, 3600)),
    "body_min_bytes": ("SECURELINK_BODY_MIN_BYTES", _bounded_int(1, 2**30)),
    "max_connections": ("SECURELINK_MAX_CONNECTIONS", _bounded_int(1, 10**7)),
    "trusted_proxies": ("SECURELINK_TRUSTED_PROXIES", _networks),
    "server": ("SECURELINK_SERVER", _server),
}
