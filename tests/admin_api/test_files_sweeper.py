"""The file sweeper against a real Redis: files go with their links' keys, and nothing else."""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
import redis
from redis.asyncio import Redis

from admin_api.sweeper import FileSweeper, file_member
from shared.keys import Keys
from shared.settings import Settings, SettingsError
from tests.support.waiting import wait_until_async

T = TypeVar("T")
GRACE_SECONDS = 60
NOW = 1_900_000_000_000


def run(
    redis_url: str, key_prefix: str, directory: Path, body: Callable[[FileSweeper], Awaitable[T]]
) -> T:
    """Run body(sweeper) on a fresh event loop with its own async client."""

    async def main() -> T:
        client = Redis.from_url(redis_url)
        try:
            sweeper = FileSweeper(
                redis=client,
                keys=Keys(key_prefix),
                directory=directory,
                grace_seconds=GRACE_SECONDS,
                clock=lambda: NOW,
            )
            return await body(sweeper)
        finally:
            await client.aclose()

    return asyncio.run(main())


def stored_file(directory: Path, age_seconds: float = 0) -> str:
    directory.mkdir(exist_ok=True)
    name = secrets.token_hex(16)
    path = directory / name
    path.write_bytes(b"content")
    if age_seconds:
        moment = time.time() - age_seconds
        os.utime(path, (moment, moment))
    return name


def members(client: redis.Redis, key_prefix: str) -> dict[str, float]:
    raw: list[tuple[bytes, float]] = client.zrange(Keys(key_prefix).files, 0, -1, withscores=True)  # type: ignore[assignment]
    return {member.decode(): score for member, score in raw}


def add_link(
    client: redis.Redis, key_prefix: str, code: str, stored: str, ttl_ms: int | None
) -> None:
    key = Keys(key_prefix).link(code)
    client.hset(key, mapping={"t": stored, "k": "f", "c": "1"})
    if ttl_ms is not None:
        client.pexpire(key, ttl_ms)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "files"


def test_tracking_scores_a_file_at_its_keys_end_but_never_past_the_grace(
    redis_url: str, key_prefix: str, directory: Path, redis_sync: redis.Redis
) -> None:
    async def body(sweeper: FileSweeper) -> None:
        await sweeper.track("a" * 32, "soon", NOW + 5_000)
        await sweeper.track("b" * 32, "later", NOW + 10**9)
        await sweeper.track("c" * 32, "never", None)

    run(redis_url, key_prefix, directory, body)

    assert members(redis_sync, key_prefix) == {
        file_member("a" * 32, "soon"): NOW + 5_000,
        file_member("b" * 32, "later"): NOW + GRACE_SECONDS * 1000,
        file_member("c" * 32, "never"): NOW + GRACE_SECONDS * 1000,
    }


def test_due_file_whose_link_is_gone_is_deleted_with_its_member(
    redis_url: str, key_prefix: str, directory: Path, redis_sync: redis.Redis
) -> None:
    stored = stored_file(directory)
    redis_sync.zadd(Keys(key_prefix).files, {file_member(stored, "gone-link"): NOW - 1})

    deleted = run(redis_url, key_prefix, directory, lambda sweeper: sweeper.sweep_due())

    assert deleted == 1
    assert not (directory / stored).exists()
    assert members(redis_sync, key_prefix) == {}


def test_due_file_of_a_live_link_is_kept_and_rescored_from_its_ttl(
    redis_url: str, key_prefix: str, directory: Path, redis_sync: redis.Redis
) -> None:
    revoked, forever = stored_file(directory), stored_file(directory)
    add_link(redis_sync, key_prefix, "revoked1", revoked, ttl_ms=30_000)
    add_link(redis_sync, key_prefix, "forever1", forever, ttl_ms=None)
    redis_sync.zadd(
        Keys(key_prefix).files,
        {file_member(revoked, "revoked1"): NOW - 1, file_member(forever, "forever1"): NOW},
    )

    deleted = run(redis_url, key_prefix, directory, lambda sweeper: sweeper.sweep_due())

    scores = members(redis_sync, key_prefix)
    assert deleted == 0
    assert (directory / revoked).exists() and (directory / forever).exists()
    assert NOW + 29_000 <= scores[file_member(revoked, "revoked1")] <= NOW + 30_000
    assert scores[file_member(forever, "forever1")] == NOW + GRACE_SECONDS * 1000


def test_members_not_yet_due_are_left_alone(
    redis_url: str, key_prefix: str, directory: Path, redis_sync: redis.Redis
) -> None:
    stored = stored_file(directory)
    redis_sync.zadd(Keys(key_prefix).files, {file_member(stored, "not-due"): NOW + 1})

    deleted = run(redis_url, key_prefix, directory, lambda sweeper: sweeper.sweep_due())

    assert deleted == 0
    assert (directory / stored).exists()
    assert list(members(redis_sync, key_prefix)) == [file_member(stored, "not-due")]


def test_a_code_reused_by_another_link_does_not_keep_an_old_file(
    redis_url: str, key_prefix: str, directory: Path, redis_sync: redis.Redis
) -> None:
    old, new = stored_file(directory), stored_file(directory)
    add_link(redis_sync, key_prefix, "reused", new, ttl_ms=None)
    redis_sync.zadd(Keys(key_prefix).files, {file_member(old, "reused"): NOW - 1})

    run(redis_url, key_prefix, directory, lambda sweeper: sweeper.sweep_due())

    assert not (directory / old).exists()
    assert (directory / new).exists()


def test_a_member_that_is_not_a_file_member_is_dropped_without_touching_files(
    redis_url: str, key_prefix: str, directory: Path, redis_sync: redis.Redis
) -> None:
    bystander = directory.parent / "passwd"
    bystander.write_text("keep me")
    redis_sync.zadd(Keys(key_prefix).files, {"../passwd:code": NOW - 1, "junk": NOW - 1})

    run(redis_url, key_prefix, directory, lambda sweeper: sweeper.sweep_due())

    assert bystander.exists()
    assert members(redis_sync, key_prefix) == {}


def test_sweep_goes_through_more_than_one_batch(
    redis_url: str,
    key_prefix: str,
    directory: Path,
    redis_sync: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("admin_api.sweeper.BATCH", 3)
    names = [stored_file(directory) for _ in range(7)]
    redis_sync.zadd(
        Keys(key_prefix).files,
        {file_member(name, f"code{i}"): NOW - 1 for i, name in enumerate(names)},
    )

    deleted = run(redis_url, key_prefix, directory, lambda sweeper: sweeper.sweep_due())

    assert deleted == 7
    assert list(directory.iterdir()) == []


def test_orphans_older_than_the_grace_are_deleted_and_nothing_else(
    redis_url: str, key_prefix: str, directory: Path, redis_sync: redis.Redis
) -> None:
    orphan = stored_file(directory, age_seconds=GRACE_SECONDS + 5)
    young = stored_file(directory, age_seconds=1)
    tracked = stored_file(directory, age_seconds=GRACE_SECONDS + 5)
    foreign = directory / "README.txt"
    foreign.write_text("not an upload")
    os.utime(foreign, (0, 0))
    redis_sync.zadd(Keys(key_prefix).files, {file_member(tracked, "tracked"): math.inf})

    deleted = run(redis_url, key_prefix, directory, lambda sweeper: sweeper.sweep_orphans())

    assert deleted == 1
    assert sorted(p.name for p in directory.iterdir()) == sorted([young, tracked, "README.txt"])
    assert orphan not in {p.name for p in directory.iterdir()}


def test_sweeps_before_any_upload_find_no_directory_and_do_nothing(
    redis_url: str, key_prefix: str, directory: Path
) -> None:
    async def body(sweeper: FileSweeper) -> tuple[int, int]:
        return await sweeper.sweep_due(), await sweeper.sweep_orphans()

    assert run(redis_url, key_prefix, directory, body) == (0, 0)


def test_run_keeps_sweeping_after_a_failure(
    redis_url: str, key_prefix: str, directory: Path, redis_sync: redis.Redis
) -> None:
    stored = stored_file(directory)
    redis_sync.zadd(Keys(key_prefix).files, {file_member(stored, "gone-link"): NOW - 1})
    calls: list[str] = []

    async def body(sweeper: FileSweeper) -> None:
        original = sweeper.sweep_due

        async def flaky() -> int:
            calls.append("sweep")
            if len(calls) == 1:
                raise RuntimeError("boom")
            return await original()

        sweeper.sweep_due = flaky  # type: ignore[method-assign]
        task = asyncio.create_task(sweeper.run(0.01))
        await wait_until_async(lambda: not (directory / stored).exists())
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run(redis_url, key_prefix, directory, body)

    assert len(calls) >= 2
    assert not (directory / stored).exists()


def test_run_stops_when_its_cancel_comes_back_as_another_error(
    redis_url: str, key_prefix: str, directory: Path
) -> None:
    # A client cut off mid-reply may raise its own error instead of CancelledError; the
    # sweep must still end, since nothing cancels its task a second time.
    async def body(sweeper: FileSweeper) -> BaseException | None:
        started = asyncio.Event()

        async def cut_off() -> int:
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                raise RuntimeError("connection closed mid-reply") from None
            return 0

        sweeper.sweep_due = cut_off  # type: ignore[method-assign]
        task = asyncio.create_task(sweeper.run(0.01))
        await started.wait()
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=60)
        if not done:  # still sweeping a minute later: it would never have stopped
            task.cancel()
            return None
        return task.exception() if not task.cancelled() else asyncio.CancelledError()

    outcome = run(redis_url, key_prefix, directory, body)

    assert isinstance(outcome, asyncio.CancelledError)


def test_sweep_interval_and_grace_come_from_the_environment() -> None:
    env = {"SECURELINK_FILE_SWEEP_SECONDS": "5", "SECURELINK_FILE_GRACE_SECONDS": "120"}

    settings = Settings.from_env(env)

    assert (settings.file_sweep_seconds, settings.file_grace_seconds) == (5, 120)
    assert (Settings().file_sweep_seconds, Settings().file_grace_seconds) == (60, 3600)
    with pytest.raises(SettingsError, match="SECURELINK_FILE_GRACE_SECONDS"):
        Settings.from_env({"SECURELINK_FILE_GRACE_SECONDS": "0"})
