"""Lua scripts: read once at start-up, run by EVALSHA, reloaded when the server forgot them."""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from redis.exceptions import NoScriptError

SCRIPT_NAMES = (
    "resolve_link",
    "create_link",
    "create_links",
    "add_index_entries",
    "revoke_link",
    "begin_password_attempt",
    "finish_password_attempt",
    "rehash_password",
    "update_link",
    "delete_link",
    "claim_idempotency_key",
    "add_totals",
)


class ResolveStatus(enum.IntEnum):
    """First element of resolve_link's reply."""

    OK = 0
    NOT_FOUND = 1
    EXPIRED = 2
    EXHAUSTED = 3
    REVOKED = 4
    PASSWORD_REQUIRED = 5
    CLICK_REQUIRED = 6


class ResolveReply(enum.IntEnum):
    """Where each field sits in resolve_link's reply (the Lua header lists the same order).

    Only OK, and PASSWORD_REQUIRED in peek mode, carry more than the status; Lua drops trailing
    nils on some servers, so a shorter reply means the missing fields are absent.
    """

    STATUS = 0
    TARGET = 1
    KIND = 2  # Field.KIND's value: absent for url links, FILE_KIND for file links
    FILE_NAME = 3
    FILE_SIZE = 4
    CONTENT_TYPE = 5
    PASSWORD_HASH = 6
    VIEW_LIMITED = 7  # peek and preview modes only: 1 when the link has maxViews


class ResolveMode(enum.IntEnum):
    """ARGV[1] of resolve_link."""

    COUNT = 0  # count a view unless a password is needed
    PEEK = 1  # check only, count nothing (HEAD, previews, the password form)
    COUNT_VERIFIED = 2  # the caller verified the password: count
    PREVIEW = 3  # check only, like PEEK, and record one link-preview fetch
    COUNT_CLICKED = 4  # the person clicked "Open link": count, unless a password is needed


class UpdateStatus(enum.IntEnum):
    """First element of update_link's reply."""

    CHANGED = 0
    NOT_FOUND = 1
    REVOKED = 2
    FILE_TARGET = 3


class AttemptStatus(enum.IntEnum):
    """First element of begin_password_attempt's reply."""

    GO = 0  # the password may be checked now
    LOCKED = 1  # too many wrong passwords: the second element is the wait, ms
    BUSY = 2  # earlier checks still run: ask again shortly


class ScriptError(RuntimeError):
    """A script is missing or empty: the service must not start."""


@dataclass(frozen=True, slots=True)
class Script:
    name: str
    source: bytes
    sha: str


def script_dir() -> Path:
    """lua/ ships inside the wheel as shared/lua; a source checkout keeps it at the root."""
    here = Path(__file__).resolve().parent
    packaged = here / "lua"
    return packaged if packaged.is_dir() else here.parent / "lua"


# A line `--- @include "name"` stands for lua/includes/name.lua, as in BullMQ's scripts: what
# two scripts share is written once and still runs inside each, atomically, under one digest.
INCLUDE = re.compile(rb'^--- @include "([a-z_]+)"$', re.MULTILINE)


def load_scripts(directory: Path | None = None) -> dict[str, Script]:
    """Read every script once; a missing or empty one fails start-up, not the first request."""
    directory = directory or script_dir()
    scripts = {}
    for name in SCRIPT_NAMES:
        path = directory / f"{name}.lua"
        source = _read(path, "script")
        if not source.strip():
            raise ScriptError(f"Lua script {path} is empty")
        source = INCLUDE.sub(
            lambda match: _read(directory / "includes" / f"{match[1].decode()}.lua", "include"),
            source,
        )
        scripts[name] = Script(name, source, hashlib.sha1(source).hexdigest())
    return scripts


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ScriptError(f"cannot read Lua {what} {path}: {exc.strerror}") from None


class ScriptClient(Protocol):
    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any: ...

    async def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any: ...


class ScriptRunner:
    """Runs scripts by digest; NOSCRIPT means the script did not run, so resending is safe."""

    def __init__(self, client: ScriptClient, scripts: dict[str, Script]) -> None:
        self.client = client
        self.scripts = scripts

    async def run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        script = self.scripts[name]
        try:
            return await self.client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            # EVAL both runs the script and puts it back in the server's cache.
            return await self.client.eval(script.source.decode(), len(keys), *keys, *args)
