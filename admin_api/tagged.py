"""Links by tag: a page of one tag's links, and ending all of them at once (load-test teardown).

Each tag has a sorted set of the codes carrying it, scored by creation (ms), under a hash tag
of its own: on Redis Cluster it lives in one slot while its links are spread over all of them,
so a set is read in chunks and each chunk's links are handled by one pipeline of single-slot
script calls (concurrent calls on a cluster, whose client refuses scripts in pipelines), never
by one script across slots. A set may hold codes whose link has gone or
no longer carries the tag (members are added before the link is written and removed after it
ends); every reader passes over them by checking the link itself.

A teardown removes a chunk's codes from the set only after their links were handled, so one
that stops halfway (a crash, a timeout) leaves the rest in the set, and running it again
finishes the job: revoking and deleting by tag are both safe to repeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from admin_api.links import FileTracker, Links, pairs_of
from shared.models import Link, carries_tag

CHUNK = 500  # codes per pipeline: 100,000 links are 200 round trips
PAGE_BATCH = 100


async def tag_page(
    links: Links, tag: str, limit: int, cursor: str | None
) -> tuple[list[Link], str | None]:
    """Newest first, like the listing; the cursor is "<score>-<members of that score seen>"."""
    key = links.keys.tag(tag)
    top: int | None = None
    skip = 0
    if cursor is not None:
        top_text, _, skip_text = cursor.partition("-")
        top, skip = int(top_text), int(skip_text)
    items: list[Link] = []
    last: str | None = None
    while True:
        count = max(limit + 1 - len(items), PAGE_BATCH)
        members = await links.redis.zrevrangebyscore(
            key, "+inf" if top is None else top, "-inf", start=skip, num=count, withscores=True
        )
        pipe = links.redis.pipeline(transaction=False)
        for member, _ in members:
            pipe.hgetall(links.keys.link(member.decode()))
        hashes = await pipe.execute() if members else []
        for (member, raw_score), fields in zip(members, hashes, strict=True):
            score = int(raw_score)
            if score == top:
                skip += 1
            else:
                top, skip = score, 1
            if fields and carries_tag(fields, tag):
                if len(items) == limit:
                    return items, last
                items.append(links.to_link(member.decode(), fields))
                last = f"{top}-{skip}"
        if len(members) < count:
            return items, None


async def _run_many(
    links: Links, name: str, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]
) -> list[Any]:
    """One script call per link: a pipeline on a single server; on a cluster (whose client
    refuses scripts in pipelines) concurrent calls, each routed to its link's node."""
    if links.settings.redis_cluster:
        return list(
            await asyncio.gather(*(links.scripts.run(name, keys, args) for keys, args in calls))
        )
    # EVAL, not EVALSHA, in a pipeline: a NOSCRIPT there would fail the chunk's calls.
    source = links.scripts.scripts[name].source.decode()
    pipe = links.redis.pipeline(transaction=False)
    for keys, args in calls:
        pipe.eval(source, len(keys), *keys, *args)
    replies: list[Any] = await pipe.execute()
    return replies


async def revoke_tagged(links: Links, tag: str) -> int:
    """Revoke every link carrying the tag; how many this call revoked."""
    key = links.keys.tag(tag)
    retention = links.settings.retention_seconds
    revoked = 0
    start = 0
    while True:
        members: list[bytes] = await links.redis.zrange(key, start, start + CHUNK - 1)
        codes = [member.decode() for member in members]
        if not codes:
            return revoked
        calls = [(links.keys.link_family(code), [retention, "", tag]) for code in codes]
        replies = await _run_many(links, "revoke_link", calls)
        revoked += sum(1 for reply in replies if reply and reply[0] == 1)
        start += len(codes)


async def delete_tagged(links: Links, tag: str, tracker: FileTracker | None) -> int:
    """Delete every link carrying the tag, with its keys, file and other tags' entries."""
    key = links.keys.tag(tag)
    deleted = 0
    while True:
        members: list[bytes] = await links.redis.zrange(key, 0, CHUNK - 1)
        if not members:
            return deleted
        codes = [member.decode() for member in members]
        calls = [(links.keys.owned_keys(code), [tag]) for code in codes]
        replies = await _run_many(links, "delete_link", calls)
        ended = [
            (code, pairs_of(reply)) for code, reply in zip(codes, replies, strict=True) if reply
        ]
        await links.forget(ended, tracker, skip_tag=tag)
        deleted += len(ended)
        # Only now: a teardown stopped before this line finds these codes again next time.
        await links.redis.zrem(key, *members)
