"""Uploaded files go away with their links: a background sweep in the admin API.

A link's keys expire on their own (expiresAt + retention, or retention after the last view or
a revocation), and a Redis TTL tells no one. So every file link has a member
`<stored name>:<code>` in the sorted set Keys.files, scored with the time (ms) it is next
looked at: the moment its keys expire, but never later than `grace` from now, because the
redirector's script may shorten a TTL (the last view) without touching this set.

Each sweep takes the members that are due. A member whose link still exists and still names
its file is scored again from the link's PTTL; any other member's file is deleted, then the
member. The member is added before the link is created, so a crash in between leaves a member
that the sweep clears. A file on disk that no member names (a crash between the upload and
that ZADD) is deleted once it is older than `grace`. Every step is idempotent, so several admin
processes may sweep at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from shared.files import is_stored_name
from shared.keys import Keys, is_valid_code
from shared.models import Field, now_ms
from shared.store import REDIS_UNAVAILABLE

logger = logging.getLogger("securelink.sweeper")

BATCH = 500
MAX_BATCHES_PER_SWEEP = 200
_GONE = -2  # PTTL of a missing key


def file_member(stored_name: str, code: str) -> str:
    return f"{stored_name}:{code}"


def _parse_member(member: bytes | str) -> tuple[str, str] | None:
    text = member.decode() if isinstance(member, bytes) else member
    stored_name, _, code = text.partition(":")
    if not is_stored_name(stored_name) or not is_valid_code(code):
        return None
    return stored_name, code


class FileSweeper:
    """Deletes the files of links whose keys have expired, and files no link ever got."""

    def __init__(
        self,
        *,
        redis: Any,
        keys: Keys,
        directory: Path,
        grace_seconds: int,
        clock: Any = now_ms,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.directory = directory
        self.grace_ms = grace_seconds * 1000
        self.clock = clock

    def next_check(self, keys_expire_ms: float | None, now: int) -> float:
        """When to look at a file's link again: when its keys go, and at least every grace."""
        horizon = now + self.grace_ms
        return horizon if keys_expire_ms is None else min(keys_expire_ms, horizon)

    async def track(self, stored_name: str, code: str, keys_expire_ms: int | None) -> None:
        """Called before the link is created, so no crash can leave a link's file unknown."""
        score = self.next_check(keys_expire_ms, self.clock())
        await self.redis.zadd(self.keys.files, {file_member(stored_name, code): score})

    async def untrack(self, stored_name: str, code: str) -> None:
        await self.redis.zrem(self.keys.files, file_member(stored_name, code))

    async def discard(self, stored_name: str, code: str) -> None:
        """The link was deleted: its file goes now, not at the next sweep."""
        await asyncio.to_thread(self._delete, stored_name)
        await self.untrack(stored_name, code)

    async def sweep_due(self) -> int:
        """Look at every member that is due; the number of files deleted."""
        deleted = 0
        for _ in range(MAX_BATCHES_PER_SWEEP):
            now = self.clock()
            members = await self.redis.zrangebyscore(
                self.keys.files, "-inf", now, start=0, num=BATCH
            )
            if not members:
                break
            deleted += await self._check(members, now)
            if len(members) < BATCH:
                break
        return deleted

    async def _check(self, members: list[bytes], now: int) -> int:
        parsed = [_parse_member(member) for member in members]
        pipe = self.redis.pipeline(transaction=False)
        for item in parsed:
            if item is not None:
                link = self.keys.link(item[1])
                pipe.hget(link, Field.TARGET)
                pipe.pttl(link)
        replies = iter(await pipe.execute())
        rescored: dict[bytes, float] = {}
        finished: list[bytes] = []
        deleted = 0
        for member, item in zip(members, parsed, strict=True):
            if item is None:
                finished.append(member)  # not ours to interpret: drop it, touch no file
                continue
            stored_name, _ = item
            target, pttl = next(replies), next(replies)
            if target == stored_name.encode() and pttl != _GONE:
                expire_ms = None if pttl < 0 else now + max(pttl, 1)
                rescored[member] = self.next_check(expire_ms, now)
            else:
                deleted += await asyncio.to_thread(self._delete, stored_name)
                finished.append(member)
        if rescored:
            await self.redis.zadd(self.keys.files, rescored, xx=True)
        if finished:
            # After the file: a crash in between leaves a member the next sweep retries.
            await self.redis.zrem(self.keys.files, *finished)
        return deleted

    def _delete(self, stored_name: str) -> int:
        try:
            (self.directory / stored_name).unlink()
        except FileNotFoundError:
            return 0
        return 1

    async def sweep_orphans(self) -> int:
        """Delete files older than the grace that no member names; the number deleted."""
        old = await asyncio.to_thread(self._old_files, time.time() - self.grace_ms / 1000)
        if not old:
            return 0
        named = set()
        async for member in self.redis.zscan_iter(self.keys.files, count=1000):
            item = _parse_member(member[0] if isinstance(member, tuple) else member)
            if item is not None:
                named.add(item[0])
        orphans = old - named
        for stored_name in orphans:
            logger.warning("deleting orphaned upload %s", stored_name)
            await asyncio.to_thread(self._delete, stored_name)
        return len(orphans)

    def _old_files(self, cutoff: float) -> set[str]:
        old: set[str] = set()
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return old
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                if (
                    is_stored_name(entry.name)
                    and entry.is_file(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_mtime < cutoff
                ):
                    old.add(entry.name)
        return old

    async def run(self, interval_seconds: float) -> None:
        """Sweep forever: due members every interval, the directory every grace period."""
        next_orphan_scan = 0.0
        while True:
            try:
                await self.sweep_due()
                if time.monotonic() >= next_orphan_scan:
                    await self.sweep_orphans()
                    next_orphan_scan = time.monotonic() + self.grace_ms / 1000
            except REDIS_UNAVAILABLE:
                if _stopping():
                    raise asyncio.CancelledError from None  # the cancel came as a timeout
                logger.warning("file sweep skipped: Redis is unavailable")
            except Exception:
                if _stopping():
                    # The cancel came as another error (a client cut off mid-reply): going on
                    # would sweep forever, since nothing cancels the task a second time.
                    raise asyncio.CancelledError from None
                logger.exception("file sweep failed")
            await asyncio.sleep(interval_seconds)


def _stopping() -> bool:
    """True once the sweep's task was cancelled, even if an inner timeout ate the CancelledError."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
