"""RedisEndpoint: SECURELINK_REDIS_URL, parsed once, the one value every Redis client is built from.

shared.store builds redis-py's clients from it and the redirector's own pipelines connect with
it, so a URL cannot mean one server or one TLS setting to one client and another to the other.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORT = 6379

# The query parameters a URL may carry, as redis-py names them. Anything else is refused: a
# parameter one client would honour and the other ignore is the mismatch this value prevents.
QUERY_PARAMETERS = ("db", "ssl_ca_certs", "ssl_cert_reqs", "ssl_certfile", "ssl_keyfile")

CERT_REQS = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}


@dataclass(frozen=True, kw_only=True)
class RedisTls:
    """A rediss:// URL's TLS options (`ssl_*` query parameters, redis-py's names)."""

    ca_certs: str | None = None  # a CA bundle; None: the system's
    cert_reqs: str = (
        "required"  # none, optional or required: how the server's certificate is checked
    )
    certfile: str | None = None  # a client certificate, for servers that ask for one
    keyfile: str | None = None

    @property
    def verify_mode(self) -> ssl.VerifyMode:
        return CERT_REQS[self.cert_reqs]

    @property
    def check_hostname(self) -> bool:
        # As redis-py decides: a certificate that is not checked has no name to match.
        return self.verify_mode != ssl.CERT_NONE

    def context(self) -> ssl.SSLContext:
        """The SSLContext a client connects with, built as redis-py's SSLConnection builds it."""
        context = ssl.create_default_context()
        context.check_hostname = self.check_hostname
        context.verify_mode = self.verify_mode
        if self.ca_certs is not None:
            context.load_verify_locations(cafile=self.ca_certs)
        if self.certfile is not None:
            context.load_cert_chain(self.certfile, self.keyfile)
        return context


@dataclass(frozen=True, kw_only=True)
class RedisEndpoint:
    """Where and how to connect: host, port, database, credentials, and TLS for rediss://."""

    host: str
    port: int = DEFAULT_PORT
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: RedisTls | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisEndpoint:
        """Parse a redis:// or rediss:// URL; a ValueError says what is wrong with it."""
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError("must be a redis:// or rediss:// URL with a host")
        try:
            port = parts.port  # raises on a port that is not a number from 0 to 65535
        except ValueError:
            port = 0
        if port == 0:
            raise ValueError("must have a port from 1 to 65535")
        query = _query(parts.query)
        path_db = parts.path.strip("/")
        query_db = query.pop("db", None)
        if path_db and query_db is not None:
            raise ValueError("must name its database once, in the path or as ?db=, not both")
        database = path_db or query_db or "0"
        if not (database.isascii() and database.isdigit()):
            raise ValueError("must name the database by its number, as in redis://host:6379/0")
        tls = None
        if parts.scheme == "rediss":
            cert_reqs = query.get("ssl_cert_reqs", "required").lower()
            if cert_reqs not in CERT_REQS:
                raise ValueError("ssl_cert_reqs must be none, optional or required")
            tls = RedisTls(
                ca_certs=query.get("ssl_ca_certs"),
                cert_reqs=cert_reqs,
                certfile=query.get("ssl_certfile"),
                keyfile=query.get("ssl_keyfile"),
            )
        elif any(name.startswith("ssl_") for name in query):
            raise ValueError("has ssl_ options but is not a rediss:// URL")
        return cls(
            host=unquote(parts.hostname),
            port=port or DEFAULT_PORT,
            db=int(database),
            # Empty means absent, as redis-py reads a URL: no AUTH with an empty password.
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


def _query(raw: str) -> dict[str, str]:
    """The URL's query parameters (the last of repeated ones); an unknown one is refused."""
    query = {name: values[-1] for name, values in parse_qs(raw).items()}
    unknown = sorted(set(query) - set(QUERY_PARAMETERS))
    if unknown:
        raise ValueError(
            f"has unknown query parameters {', '.join(unknown)} "
            f"(known: {', '.join(QUERY_PARAMETERS)})"
        )
    return query
