"""Script loading: every script is read once at start-up; a missing or empty one stops it."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import NoScriptError

from shared.endpoint import RedisEndpoint
from shared.scripts import SCRIPT_NAMES, ScriptError, ScriptRunner, load_scripts, script_dir
from shared.settings import Settings


def _copy_scripts(tmp_path: Path) -> Path:
    directory = tmp_path / "lua"
    shutil.copytree(script_dir(), directory)
    return directory


def test_every_script_is_loaded_with_its_sha1() -> None:
    scripts = load_scripts()

    assert sorted(scripts) == sorted(SCRIPT_NAMES)
    for name, script in scripts.items():
        written = (script_dir() / f"{name}.lua").read_bytes()
        if b"--- @include" not in written:
            assert script.source == written
        assert script.sha == hashlib.sha1(script.source).hexdigest()


def test_an_include_line_is_replaced_by_its_file() -> None:
    shared = (script_dir() / "includes" / "client_entries.lua").read_bytes()

    for name in ("begin_password_attempt", "finish_password_attempt"):
        source = load_scripts()[name].source
        written = (script_dir() / f"{name}.lua").read_bytes()

        assert source == written.replace(b'--- @include "client_entries"', shared)
        assert b"--- @include" not in source


def test_missing_include_fails_loading(tmp_path: Path) -> None:
    directory = _copy_scripts(tmp_path)
    (directory / "includes" / "client_entries.lua").unlink()

    with pytest.raises(ScriptError) as raised:
        load_scripts(directory)

    missing = directory / "includes" / "client_entries.lua"
    assert str(raised.value) == f"cannot read Lua include {missing}: No such file or directory"


def test_every_script_opens_with_its_header() -> None:
    for script in load_scripts().values():
        header = script.source.decode().split("]]", 1)[0]

        assert header.startswith(f"--[[ {script.name}:")
        assert "KEYS[1]" in header
        assert "Returns" in header


def test_missing_script_fails_loading(tmp_path: Path) -> None:
    directory = _copy_scripts(tmp_path)
    (directory / "revoke_link.lua").unlink()

    with pytest.raises(ScriptError) as raised:
        load_scripts(directory)

    assert str(raised.value) == (
        f"cannot read Lua script {directory / 'revoke_link.lua'}: No such file or directory"
    )


def test_empty_script_fails_loading(tmp_path: Path) -> None:
    directory = _copy_scripts(tmp_path)
    (directory / "resolve_link.lua").write_text(" \n\t\n")

    with pytest.raises(ScriptError) as raised:
        load_scripts(directory)

    assert str(raised.value) == f"Lua script {directory / 'resolve_link.lua'} is empty"


@pytest.mark.parametrize("service", ["redirector", "admin_api"])
def test_service_with_an_empty_script_does_not_start(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _copy_scripts(tmp_path)
    (directory / "create_link.lua").write_bytes(b"")
    monkeypatch.setattr("shared.scripts.script_dir", lambda: directory)
    module = __import__(f"{service}.app", fromlist=["create_app"])

    with pytest.raises(ScriptError, match=r"create_link\.lua is empty"):
        module.create_app(Settings(redis=RedisEndpoint.from_url("redis://127.0.0.1:1/0")))


class _ForgetfulServer:
    """Answers NOSCRIPT to EVALSHA, like a server whose script cache was flushed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        self.calls.append(("evalsha", (sha, numkeys, *keys_and_args)))
        raise NoScriptError("No matching script")

    async def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any:
        self.calls.append(("eval", (script, numkeys, *keys_and_args)))
        return 1


def test_runner_sends_the_source_once_when_the_server_forgot_the_script() -> None:
    scripts = load_scripts()
    server = _ForgetfulServer()
    runner = ScriptRunner(server, scripts)

    reply = asyncio.run(runner.run("create_link", ["k"], ["", "", "t", "x"]))

    script = scripts["create_link"]
    assert reply == 1
    assert server.calls == [
        ("evalsha", (script.sha, 1, "k", "", "", "t", "x")),
        ("eval", (script.source.decode(), 1, "k", "", "", "t", "x")),
    ]
