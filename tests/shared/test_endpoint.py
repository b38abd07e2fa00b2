"""RedisEndpoint: one parse of SECURELINK_REDIS_URL, the same server and TLS for both clients."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import SSLConnection
from redis.asyncio.connection import Connection

from devtools.redis_server import RedisServer, ServerStartError, free_port
from redirector.pipeline import ScriptPipeline
from shared.endpoint import RedisEndpoint, RedisTls
from shared.scripts import ResolveStatus, load_scripts
from shared.settings import Settings, SettingsError
from shared.store import connect, endpoint_options


def test_a_redis_url_is_read_into_host_port_db_and_credentials() -> None:
    endpoint = RedisEndpoint.from_url("redis://app:p%40ss@cache.internal:6380/3")

    assert endpoint == RedisEndpoint(
        host="cache.internal", port=6380, db=3, username="app", password="p@ss"
    )
    assert "p@ss" not in repr(endpoint)


def test_defaults_are_port_6379_and_database_0_and_no_tls() -> None:
    assert RedisEndpoint.from_url("redis://localhost") == RedisEndpoint(host="localhost")
    assert RedisEndpoint.from_url("redis://localhost/?db=4").db == 4
    assert RedisEndpoint.from_url("redis://:@localhost").password is None


def test_a_rediss_url_carries_its_tls_options() -> None:
    endpoint = RedisEndpoint.from_url(
        "rediss://cache:6380/0?ssl_ca_certs=/ca.pem&ssl_cert_reqs=NONE"
        "&ssl_certfile=/client.pem&ssl_keyfile=/client.key"
    )

    assert endpoint.tls == RedisTls(
        ca_certs="/ca.pem", cert_reqs="none", certfile="/client.pem", keyfile="/client.key"
    )
    assert RedisEndpoint.from_url("rediss://cache").tls == RedisTls(cert_reqs="required")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://cache:0/0", "must have a port from 1 to 65535"),
        (
            "redis://cache/0?socket_timeout=1&x=2",
            "has unknown query parameters socket_timeout, x (known: db, ssl_ca_certs, "
            "ssl_cert_reqs, ssl_certfile, ssl_keyfile)",
        ),
        ("redis://cache/0?ssl_cert_reqs=none", "has ssl_ options but is not a rediss:// URL"),
        (
            "rediss://cache/0?ssl_cert_reqs=maybe",
            "ssl_cert_reqs must be none, optional or required",
        ),
        ("redis://cache/1?db=2", "must name its database once, in the path or as ?db=, not both"),
        (
            "redis://cache/?db=x",
            "must name the database by its number, as in redis://host:6379/0",
        ),
    ],
)
def test_a_url_both_clients_could_not_read_alike_is_refused_naming_the_variable(
    url: str, message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SECURELINK_REDIS_URL": url})

    assert str(raised.value) == f"SECURELINK_REDIS_URL: {message} (got {url!r})"


def test_the_settings_hold_the_parsed_endpoint() -> None:
    settings = Settings.from_env({"SECURELINK_REDIS_URL": "rediss://u:pw@cache:6380/2"})

    assert settings.require_redis() == RedisEndpoint(
        host="cache", port=6380, db=2, username="u", password="pw", tls=RedisTls()
    )


def test_redis_py_is_given_the_endpoint_and_its_tls_options() -> None:
    endpoint = RedisEndpoint.from_url(
        "rediss://u:pw@cache:6380/2?ssl_ca_certs=/ca.pem&ssl_certfile=/c.pem&ssl_keyfile=/c.key"
    )

    assert endpoint_options(endpoint) == {
        "host": "cache",
        "port": 6380,
        "username": "u",
        "password": "pw",
        "ssl_ca_certs": "/ca.pem",
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": True,
        "ssl_certfile": "/c.pem",
        "ssl_keyfile": "/c.key",
    }
    unverified = RedisEndpoint.from_url("rediss://cache?ssl_cert_reqs=none")
    assert endpoint_options(unverified)["ssl_check_hostname"] is False
    assert endpoint_options(RedisEndpoint.from_url("redis://cache:6380")) == {
        "host": "cache",
        "port": 6380,
        "username": None,
        "password": None,
    }


def _pool_kwargs(url: str, *, cluster: bool = False) -> dict[str, Any]:
    client = connect(Settings(redis=RedisEndpoint.from_url(url), redis_cluster=cluster))
    if cluster:
        kwargs: dict[str, Any] = client.nodes_manager.connection_kwargs
    else:
        pool = client.connection_pool
        kwargs = {**pool.connection_kwargs, "connection_class": pool.connection_class}
    return kwargs


def test_the_pooled_client_connects_where_the_endpoint_says_with_tls_for_rediss() -> None:
    plain = _pool_kwargs("redis://u:pw@cache:6380/2")
    tls = _pool_kwargs("rediss://cache:6380/0?ssl_cert_reqs=none&ssl_ca_certs=/ca.pem")

    assert (plain["host"], plain["port"], plain["db"]) == ("cache", 6380, 2)
    assert (plain["username"], plain["password"]) == ("u", "pw")
    assert plain["connection_class"] is Connection
    assert tls["connection_class"] is SSLConnection
    assert (tls["ssl_cert_reqs"], tls["ssl_ca_certs"], tls["ssl_check_hostname"]) == (
        "none",
        "/ca.pem",
        False,
    )


def test_the_cluster_client_uses_tls_for_rediss_and_refuses_a_database() -> None:
    tls = _pool_kwargs("rediss://cache:7000?ssl_certfile=/c.pem", cluster=True)

    assert tls["connection_class"] is SSLConnection
    assert (tls["ssl_certfile"], tls["ssl_cert_reqs"]) == ("/c.pem", "required")
    assert _pool_kwargs("redis://cache:7000", cluster=True)["connection_class"] is Connection
    with pytest.raises(Exception, match="Argument 'db' must be 0"):
        _pool_kwargs("redis://cache:7000/1", cluster=True)


def test_the_pipeline_connects_with_tls_for_rediss_only() -> None:
    scripts = load_scripts()
    endpoint = RedisEndpoint.from_url("rediss://cache.example:6380/2?ssl_cert_reqs=none")

    pipeline = ScriptPipeline(endpoint, scripts, timeout=1)

    assert isinstance(pipeline.tls, ssl.SSLContext)
    assert (pipeline.tls.verify_mode, pipeline.tls.check_hostname) == (ssl.CERT_NONE, False)
    verified = ScriptPipeline(RedisEndpoint.from_url("rediss://cache"), scripts, timeout=1)
    assert verified.tls is not None
    assert (verified.tls.verify_mode, verified.tls.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert ScriptPipeline(RedisEndpoint.from_url("redis://cache"), scripts, timeout=1).tls is None


# A real TLS server, so both clients prove they verify the server and present a client cert.


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(directory: Path) -> None:
    """ca.pem signs server.pem (for 127.0.0.1) and client.pem; keys beside them."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test ca",
        "-keyout", "ca.key", "-out", "ca.pem", cwd=directory,
    )  # fmt: skip
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, extension in (("server", ["-extfile", "server.ext"]), ("client", [])):
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=directory,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *extension, cwd=directory,
        )  # fmt: skip


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A server asking for client certificates on a TLS port (its plain port is for start-up)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificates for a TLS server")
    directory = tmp_path_factory.mktemp("tls")
    _certificates(directory)
    tls_port = free_port()
    options = [
        "--tls-port", str(tls_port),
        "--tls-cert-file", str(directory / "server.pem"),
        "--tls-key-file", str(directory / "server.key"),
        "--tls-ca-cert-file", str(directory / "ca.pem"),
        "--tls-auth-clients", "yes",
    ]  # fmt: skip
    server = RedisServer(data_dir=directory / "data", appendonly=False, extra_args=options)
    try:
        server.start()
    except ServerStartError as error:
        if "TLS support" in str(error) or "TLS not supported" in str(error):
            pytest.skip(f"{server.binary} was built without TLS")
        raise
    try:
        yield tls_port, directory
    finally:
        server.stop()


async def _both_clients(url: str) -> tuple[Any, Any]:
    """What redis-py's pooled client and the pipeline answer (a reply or the exception)."""
    endpoint = RedisEndpoint.from_url(url)
    client = connect(Settings(redis=endpoint, redis_timeout_ms=5000))
    pipeline = ScriptPipeline(endpoint, load_scripts(), timeout=5)
    try:
        pinged: Any = await client.ping()
    except Exception as error:
        pinged = error
    try:
        ran: Any = await pipeline.run("resolve_link", ["sl:link:{tls}"], [0, "60"])
    except Exception as error:
        ran = error
    await client.aclose()
    await pipeline.aclose()
    return pinged, ran


def test_both_clients_verify_the_server_and_present_the_client_certificate(
    tls_server: tuple[int, Path],
) -> None:
    port, certs = tls_server
    client = f"ssl_certfile={certs / 'client.pem'}&ssl_keyfile={certs / 'client.key'}"
    base = f"rediss://127.0.0.1:{port}/0"

    verified = asyncio.run(_both_clients(f"{base}?ssl_ca_certs={certs / 'ca.pem'}&{client}"))
    unverified = asyncio.run(_both_clients(f"{base}?ssl_cert_reqs=none&{client}"))
    untrusted = asyncio.run(_both_clients(f"{base}?{client}"))  # the system CAs: not ours
    anonymous = asyncio.run(_both_clients(f"{base}?ssl_ca_certs={certs / 'ca.pem'}"))

    not_found = [int(ResolveStatus.NOT_FOUND)]
    assert verified == (True, not_found)
    assert unverified == (True, not_found)
    for failed in (untrusted, anonymous):
        assert all(isinstance(outcome, Exception) for outcome in failed), failed
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted[0])
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted[1])
