"""Creating, reading, revoking and listing links; the admin side owns every key's TTL."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import string
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import NoScriptError

from admin_api.errors import (
    Conflict,
    NotFound,
    RevokedLinkUnchangeable,
    ValidationFailed,
)
from admin_api.validation import LinkChange, NewLink
from shared.keys import Keys, is_valid_code
from shared.metrics import Metrics
from shared.models import FILE_KIND, Field, Link, link_from_hash, now_ms, split_tags
from shared.passwords import Passwords
from shared.scripts import Script, ScriptRunner, UpdateStatus
from shared.settings import Settings
from shared.store import REDIS_UNAVAILABLE

CODE_ALPHABET = string.ascii_letters + string.digits
GENERATED_CODE_LENGTH = 10
_UNBIASED_BELOW = 256 - 256 % len(CODE_ALPHABET)
_GENERATION_ATTEMPTS = 8
_CLUSTER_IN_FLIGHT = 16  # a batch's script calls at once on a cluster, spread over its nodes
# Links a chunk script handles in one call on a single server. Redis runs a script to its end
# before anything else: 100 links take it about half a millisecond (about what a pipeline of
# 100 commands holds it), so the redirector's commands never queue long behind a batch, while
# Python packs and parses a hundredth of the commands of one command a link.
_CHUNK_LINKS = 100
_INDEX_BATCH = 100  # index entries read at a time while listing
_INDEX_CODE = "c"  # the one field of a listing index entry: the link's code (not a link field)
# An index entry is written just before its link: one this young without a link is not dropped.
_INDEX_GRACE_MS = 60_000


class FileTracker(Protocol):
    """The file sweeper's records, written before a file link exists."""

    async def track(self, stored_name: str, code: str, keys_expire_ms: int | None) -> None: ...

    async def untrack(self, stored_name: str, code: str) -> None: ...

    async def discard(self, stored_name: str, code: str) -> None: ...


def pairs_of(reply: list[Any]) -> dict[bytes, bytes]:
    """A flat field, value list (HGETALL's) as a dict."""
    return dict(zip(reply[::2], reply[1::2], strict=True))


def generate_code() -> str:
    """10 characters of base62 from `secrets`: about 59.5 bits, unguessable.

    One read of random bytes a code (a batch makes thousands): bytes below 248 = 4 x 62 map
    evenly onto the alphabet; the rest are skipped, so no character is likelier than another.
    """
    chars: list[str] = []
    while len(chars) < GENERATED_CODE_LENGTH:
        chars += [
            CODE_ALPHABET[byte % len(CODE_ALPHABET)]
            for byte in secrets.token_bytes(GENERATED_CODE_LENGTH + 6)
            if byte < _UNBIASED_BELOW
        ]
    return "".join(chars[:GENERATED_CODE_LENGTH])


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One script call doing one step for several items: its reply holds one reply an item."""

    script: Script
    keys: list[str]
    args: list[Any]
    items: int


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What the upload left on disk, for a file link."""

    stored_name: str
    file_name: str
    size: int
    content_type: str
    sha256: str


class Links:
    def __init__(
        self,
        *,
        redis: Any,
        scripts: ScriptRunner,
        passwords: Passwords,
        settings: Settings,
        clock: Callable[[], int] = now_ms,
        metrics: Metrics | None = None,
    ) -> None:
        self.redis = redis
        self.scripts = scripts
        self.passwords = passwords
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        self.clock = clock
        self.metrics = metrics or Metrics("admin_api")

    def to_link(self, code: str, fields: Mapping[Any, Any], at_ms: int | None = None) -> Link:
        """The wire Link, its status as of at_ms (now when not given)."""
        return link_from_hash(
            code,
            fields,
            public_base_url=self.settings.public_base_url,
            at_ms=self.clock() if at_ms is None else at_ms,
        )

    async def create(
        self,
        new: NewLink,
        stored_file: StoredFile | None = None,
        tracker: FileTracker | None = None,
    ) -> Link:
        """Store the link under its custom code or a fresh one; 409 when a custom code is taken.

        The index entry (and, for a file, the sweeper's record) is written before the link, so a
        link never exists unlisted; the link's creation second is taken from the entry's ID,
        which tells its entry from one of an earlier link of the same code on any server. An
        error after the script was sent leaves both in place: the link may exist.
        """
        fields = await self._fields(new, stored_file)
        keys_expire_ms = self._keys_expire_ms(new)
        for _ in range(_GENERATION_ATTEMPTS):
            code = new.custom_code or generate_code()
            entry_id: bytes = await self.redis.xadd(self.keys.index, {_INDEX_CODE: code})
            # Tag sets before the link too: a teardown by tag never misses a link.
            await self._add_to_tags(code, new.tags, _entry_ms(entry_id))
            if stored_file is not None and tracker is not None:
                await tracker.track(stored_file.stored_name, code, keys_expire_ms)
            args = self._create_args(fields, keys_expire_ms, entry_id)
            created = await self.scripts.run("create_link", [self.keys.link(code)], args)
            if created:
                return self._created(code, fields, created)
            # The code is taken: this entry and record were this attempt's alone.
            await self.redis.xdel(self.keys.index, entry_id)
            # The tag sets stay: the link holding the code may carry the same tags, and a
            # member whose link does not carry its tag is passed over wherever sets are read.
            if stored_file is not None and tracker is not None:
                await tracker.untrack(stored_file.stored_name, code)
            if new.custom_code:
                raise Conflict()
        raise RuntimeError("could not find a free short code")  # 8 collisions at 59 bits: a bug

    async def create_many(self, news: Sequence[NewLink]) -> list[Link | BaseException]:
        """Create validated links in a few pipelined round trips; one outcome per link, in order.

        The same steps as `create`, a round trip each for all links at once: the passwords are
        hashed concurrently (the hashing pool bounds it), one round trip writes every index
        entry, one more (one ZADD a tag) the tag sets, one more runs every link's create with
        its entry's second (so the entries are written, in order, before their links). A code
        taken by then answers 409 for a custom code, and a generated one is tried again in the
        next round. An outcome is a Link, a Conflict, or the storage error that item met; when
        a round trip itself fails, every item it carried gets that error: its link may or may
        not exist, as when a single create loses its reply.

        The index entries (anywhere) and the creates (on a single server) go as chunk scripts
        of `_CHUNK_LINKS` links (`_index_commands`, `_create_commands`): per link, packing a
        command and parsing its reply in redis-py cost more than everything else a batch does.
        """
        # Only the items with a password wait for the pool; the rest need no task of their own.
        hashes = iter(
            await asyncio.gather(
                *(self.passwords.hash(new.password) for new in news if new.password is not None)
            )
        )
        fields = [
            self._fields_of(new, None, None if new.password is None else next(hashes))
            for new in news
        ]
        outcomes: list[Link | BaseException | None] = [None] * len(news)
        pending: list[int] = []
        custom_codes: set[str] = set()
        for i, new in enumerate(news):
            if new.custom_code in custom_codes:
                # The batch's earlier item asks for it first, wherever the calls run.
                outcomes[i] = Conflict()
                continue
            if new.custom_code:
                custom_codes.add(new.custom_code)
            pending.append(i)
        for _ in range(_GENERATION_ATTEMPTS):
            if not pending:
                break
            codes = {i: news[i].custom_code or generate_code() for i in pending}
            try:
                entries = await self._pipelined(self._index_commands([codes[i] for i in pending]))
            except REDIS_UNAVAILABLE as exc:
                for i in pending:
                    outcomes[i] = exc
                break
            sent: list[tuple[int, bytes]] = []
            for i, entry in zip(pending, entries, strict=True):
                if isinstance(entry, BaseException):
                    outcomes[i] = entry
                else:
                    sent.append((i, entry))
            # Tag sets before the links, as in `create`: an item whose tag set was not written
            # is not created.
            tagged: dict[str, list[int]] = {}  # each tag's items
            for i, _ in sent:
                for tag in news[i].tags:
                    tagged.setdefault(tag, []).append(i)
            if tagged:
                created_ms = {i: _entry_ms(entry) for i, entry in sent}
                try:
                    # One ZADD a tag for all its items: a command is atomic, so its items share
                    # its outcome exactly.
                    replies = await self._pipelined(
                        ("zadd", self.keys.tag(tag), {codes[i]: created_ms[i] for i in items})
                        for tag, items in tagged.items()
                    )
                except REDIS_UNAVAILABLE as exc:
                    for i, _ in sent:
                        outcomes[i] = exc
                    break
                for items, reply in zip(tagged.values(), replies, strict=True):
                    if isinstance(reply, BaseException):
                        for i in items:
                            outcomes[i] = reply
                sent = [(i, entry) for i, entry in sent if outcomes[i] is None]
            calls = [
                (
                    self.keys.link(codes[i]),
                    self._create_args(fields[i], self._keys_expire_ms(news[i]), entry),
                )
                for i, entry in sent
            ]
            try:
                replies = await self._pipelined(self._create_commands(calls))
            except REDIS_UNAVAILABLE as exc:
                for i, _ in sent:
                    outcomes[i] = exc
                break
            retry: list[int] = []
            unused: list[bytes] = []
            answered_ms = self.clock()  # the new links' status as of their replies, read once
            created: Counter[str] = Counter()  # by kind: one metric update a kind and round
            for (i, entry), (key, args), reply in zip(sent, calls, replies, strict=True):
                # A create_link call of its own (on a cluster) the server had forgotten: it did
                # not run, so resending is safe. (Chunks are resent in `_pipelined`.)
                if isinstance(reply, NoScriptError):
                    try:
                        reply = await self.scripts.run("create_link", [key], args)
                    except REDIS_UNAVAILABLE as exc:
                        reply = exc
                if isinstance(reply, BaseException):
                    outcomes[i] = reply
                elif reply:
                    link = self._link(codes[i], fields[i], reply, answered_ms)
                    created[link.kind] += 1
                    outcomes[i] = link
                else:
                    unused.append(entry)
                    if news[i].custom_code:
                        outcomes[i] = Conflict()
                    else:
                        retry.append(i)
            for kind, count in created.items():
                self.metrics.created(kind, count)
            if unused:
                # Best effort: an entry left behind names a link of another second, and
                # listing drops it when it passes.
                with contextlib.suppress(*REDIS_UNAVAILABLE):
                    await self.redis.xdel(self.keys.index, *unused)
            pending = retry
        for i in pending:
            if outcomes[i] is None:  # 8 collisions at 59 bits: a bug
                outcomes[i] = RuntimeError("could not find a free short code")
        return [outcome for outcome in outcomes if outcome is not None]

    def _index_commands(self, codes: list[str]) -> list[Any]:
        """One index entry a code, in order: chunk scripts (one key, so on a cluster too)."""
        script = self.scripts.scripts["add_index_entries"]
        return [
            _Chunk(script, [self.keys.index], [_INDEX_CODE, *part], len(part))
            for part in _parts(codes)
        ]

    def _create_commands(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """create_link for each (key, args): one script call each on a cluster, where the keys
        lie in different slots; chunk scripts of create_links on a single server."""
        if self.settings.redis_cluster:
            sha = self.scripts.scripts["create_link"].sha
            return [("evalsha", sha, 1, key, *args) for key, args in calls]
        script = self.scripts.scripts["create_links"]
        commands: list[Any] = []
        for part in _parts(calls):
            args: list[Any] = []
            for _, (expire, now, *pairs) in part:
                args += [expire, now, len(pairs), *pairs]
            commands.append(_Chunk(script, [key for key, _ in part], args, len(part)))
        return commands

    async def _pipelined(self, commands: Iterable[Any]) -> list[Any]:
        """One round trip on a single server; one per node on a cluster. One reply an item
        (a `_Chunk` carries several items), errors in the list where they belong, unless the
        round trip itself failed (then it raises).

        redis-py's cluster pipeline refuses scripts, so on a cluster they go as concurrent
        calls instead, at most `_CLUSTER_IN_FLIGHT` at a time, each routed by its key.
        """
        commands = list(commands)
        if self.settings.redis_cluster and any(
            isinstance(command, _Chunk) or command[0] == "evalsha" for command in commands
        ):
            replies = await self._concurrently(commands)
        else:
            pipe = self.redis.pipeline(transaction=False)
            for command in commands:
                if isinstance(command, _Chunk):
                    pipe.evalsha(
                        command.script.sha, len(command.keys), *command.keys, *command.args
                    )
                else:
                    name, *args = command
                    getattr(pipe, name)(*args)
            replies = await pipe.execute(raise_on_error=False)
        await self._rerun_forgotten(commands, replies)
        per_item: list[Any] = []
        for command, reply in zip(commands, replies, strict=True):
            if not isinstance(command, _Chunk):
                per_item.append(reply)
            elif isinstance(reply, BaseException):  # the whole call failed: each of its items
                per_item += [reply] * command.items
            else:
                per_item += reply
        return per_item

    async def _rerun_forgotten(self, commands: list[Any], replies: list[Any]) -> None:
        """Chunk scripts the server had forgotten (NOSCRIPT: they did not run, so resending is
        safe) again by EVAL, which also caches them; their replies replace the NOSCRIPTs."""
        forgotten = [
            at
            for at, (command, reply) in enumerate(zip(commands, replies, strict=True))
            if isinstance(command, _Chunk) and isinstance(reply, NoScriptError)
        ]
        for at in forgotten:
            chunk = commands[at]
            try:
                replies[at] = await self.redis.eval(
                    chunk.script.source.decode(), len(chunk.keys), *chunk.keys, *chunk.args
                )
            except REDIS_UNAVAILABLE as exc:
                replies[at] = exc

    async def _concurrently(self, commands: list[Any]) -> list[Any]:
        places = asyncio.Semaphore(_CLUSTER_IN_FLIGHT)

        async def one(command: Any) -> Any:
            async with places:
                if isinstance(command, _Chunk):
                    chunk = command
                    return await self.redis.evalsha(
                        chunk.script.sha, len(chunk.keys), *chunk.keys, *chunk.args
                    )
                name, *args = command
                return await getattr(self.redis, name)(*args)

        calls = [one(command) for command in commands]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    def _keys_expire_ms(self, new: NewLink) -> int | None:
        if new.expires_ms is None:
            return None
        return new.expires_ms + self.settings.retention_seconds * 1000

    @staticmethod
    def _create_args(
        fields: Mapping[str, str], keys_expire_ms: int | None, entry_id: bytes
    ) -> list[Any]:
        pairs = [item for pair in fields.items() for item in pair]
        return ["" if keys_expire_ms is None else keys_expire_ms, _entry_ms(entry_id), *pairs]

    def _created(self, code: str, fields: Mapping[str, str], created: Any) -> Link:
        link = self._link(code, fields, created, self.clock())
        self.metrics.created(link.kind)
        return link

    def _link(self, code: str, fields: Mapping[str, str], created: Any, at_ms: int) -> Link:
        """The new link as stored: its fields and the creation second the script gave it."""
        return self.to_link(code, {**fields, Field.CREATED: str(created)}, at_ms)

    async def _fields(self, new: NewLink, stored_file: StoredFile | None) -> dict[str, str]:
        hashed = None if new.password is None else await self.passwords.hash(new.password)
        return self._fields_of(new, stored_file, hashed)

    @staticmethod
    def _fields_of(
        new: NewLink, stored_file: StoredFile | None, password_hash: str | None
    ) -> dict[str, str]:
        """The link's hash fields, its password already hashed (None: it has none)."""
        fields: dict[str, str] = {}
        if stored_file is None:
            assert new.target_url is not None
            fields[Field.TARGET] = new.target_url
        else:
            fields[Field.TARGET] = stored_file.stored_name
            fields[Field.KIND] = FILE_KIND
            fields[Field.FILE_NAME] = stored_file.file_name
            fields[Field.FILE_SIZE] = str(stored_file.size)
            fields[Field.CONTENT_TYPE] = stored_file.content_type
            fields[Field.FILE_SHA256] = stored_file.sha256
        if new.expires_ms is not None:
            fields[Field.EXPIRES] = str(new.expires_ms)
        if new.max_views is not None:
            fields[Field.MAX_VIEWS] = str(new.max_views)
        if password_hash is not None:
            fields[Field.PASSWORD] = password_hash
        if new.tags:
            fields[Field.TAGS] = ",".join(new.tags)
        if new.click_to_open:
            fields[Field.CLICK_TO_OPEN] = "1"
        return fields

    async def _add_to_tags(self, code: str, tags: tuple[str, ...], created_ms: int) -> None:
        for tag in tags:  # each tag set in a slot of its own: one call each
            await self.redis.zadd(self.keys.tag(tag), {code: created_ms})

    async def _drop_from_tags(self, code: str, tags: tuple[str, ...] | list[str]) -> None:
        for tag in tags:
            await self.redis.zrem(self.keys.tag(tag), code)

    async def change(self, code: str, change: LinkChange, stored: Mapping[bytes, bytes]) -> Link:
        """Apply a validated PATCH in one script call; tags sets follow in calls of their own.

        New tags' sets get the code before the script, dropped tags' sets lose it after: a
        teardown by tag finds every link that carries the tag at any moment.
        """
        fields: dict[str, str] = {}
        if "targetUrl" in change.named:
            assert change.target_url is not None
            fields[Field.TARGET] = change.target_url
        if "expiresAt" in change.named:
            fields[Field.EXPIRES] = "" if change.expires_ms is None else str(change.expires_ms)
        if "maxViews" in change.named:
            fields[Field.MAX_VIEWS] = "" if change.max_views is None else str(change.max_views)
        if "password" in change.named:
            fields[Field.PASSWORD] = (
                "" if change.password is None else await self.passwords.hash(change.password)
            )
        if "tags" in change.named:
            fields[Field.TAGS] = ",".join(change.tags)
            old = split_tags(stored.get(Field.TAGS.encode(), b"").decode())
            created_ms = int(stored.get(Field.CREATED.encode(), b"0")) * 1000
            await self._add_to_tags(code, tuple(t for t in change.tags if t not in old), created_ms)
        if "clickToOpen" in change.named:
            fields[Field.CLICK_TO_OPEN] = "1" if change.click_to_open else ""
        args = [
            self.settings.retention_seconds,
            "",
            "1" if "targetUrl" in change.named else "0",
            *[item for pair in fields.items() for item in pair],
        ]
        reply = await self.scripts.run("update_link", list(self.keys.link_family(code)), args)
        status = UpdateStatus(reply[0])
        if status is UpdateStatus.NOT_FOUND:
            raise NotFound()
        if status is UpdateStatus.REVOKED:
            raise RevokedLinkUnchangeable()
        if status is UpdateStatus.FILE_TARGET:
            raise ValidationFailed(["targetUrl: cannot be set on a file link"])
        now = pairs_of(reply[2:])
        if "tags" in change.named:
            old_tags = split_tags(reply[1].decode())
            await self._drop_from_tags(code, [t for t in old_tags if t not in change.tags])
        return self.to_link(code, now)

    async def stored(self, code: str) -> dict[bytes, bytes]:
        """The link's hash as stored; 404 when there is none."""
        if not is_valid_code(code):
            raise NotFound()
        fields: dict[bytes, bytes] = await self.redis.hgetall(self.keys.link(code))
        if not fields:
            raise NotFound()
        return fields

    async def delete(self, code: str, tracker: FileTracker | None, tag: str = "") -> bool:
        """Remove the link and every key under its hash tag now; its file and tag entries too.

        False when there was no link (or, given a tag, it did not carry it).
        """
        if not is_valid_code(code):
            return False
        reply = await self.scripts.run("delete_link", list(self.keys.owned_keys(code)), [tag])
        if not reply:
            return False
        await self.forget([(code, pairs_of(reply))], tracker, skip_tag=tag)
        return True

    async def forget(
        self,
        ended: Sequence[tuple[str, Mapping[bytes, bytes]]],
        tracker: FileTracker | None,
        skip_tag: str = "",
    ) -> None:
        """What deleted links left outside their slot: files, and places in tag sets."""
        pipe = self.redis.pipeline(transaction=False)
        queued = False
        for code, fields in ended:
            if fields.get(Field.KIND.encode()) == FILE_KIND.encode() and tracker is not None:
                await tracker.discard(fields[Field.TARGET.encode()].decode(), code)
            for tag in split_tags(fields.get(Field.TAGS.encode(), b"").decode()):
                if tag != skip_tag:
                    pipe.zrem(self.keys.tag(tag), code)
                    queued = True
        if queued:
            await pipe.execute()

    async def get(self, code: str) -> Link:
        if not is_valid_code(code):
            raise NotFound()  # "..%2f", NUL, 10 KB codes: answered without a round trip
        fields = await self.redis.hgetall(self.keys.link(code))
        if not fields:
            raise NotFound()
        return self.to_link(code, fields)

    async def revoke(self, code: str) -> Link:
        if not is_valid_code(code):
            raise NotFound()
        reply = await self.scripts.run(
            "revoke_link", list(self.keys.link_family(code)), [self.settings.retention_seconds]
        )
        if not reply:
            raise NotFound()
        return self.to_link(code, dict(zip(reply[::2], reply[1::2], strict=True)))

    async def page(self, limit: int, cursor: str | None) -> tuple[list[Link], str | None]:
        """Newest first; entries whose link has gone are dropped from the index on the way.

        `nextCursor` is given only when a further live link exists, so no page comes back empty.
        """
        items: list[Link] = []
        if cursor is not None and not any(int(part) for part in cursor.split("-")):
            return [], None  # nothing precedes stream id 0-0, and Redis refuses "(0-0"
        upper = f"({cursor}" if cursor else "+"
        last_id: str | None = None
        now = self.clock()
        # A code deleted and created again within one second has two entries of that second:
        # the newer one is the link's.
        seen: set[str] = set()
        while True:
            count = max(limit + 1 - len(items), _INDEX_BATCH)
            entries = await self.redis.xrevrange(self.keys.index, max=upper, min="-", count=count)
            codes = [entry[1][_INDEX_CODE.encode()].decode() for entry in entries]
            pipe = self.redis.pipeline(transaction=False)
            for code in codes:
                pipe.hgetall(self.keys.link(code))
            hashes = await pipe.execute() if codes else []
            gone: list[bytes] = []
            for (entry_id, _), code, fields in zip(entries, codes, hashes, strict=True):
                if fields and _entry_of(entry_id, fields) and code not in seen:
                    if len(items) == limit:
                        await self._drop(gone)
                        return items, last_id
                    seen.add(code)
                    items.append(self.to_link(code, fields))
                    last_id = entry_id.decode()
                elif fields or _entry_ms(entry_id) < now - _INDEX_GRACE_MS:
                    # An earlier link's entry, or one whose link has expired (or never came:
                    # a create that failed before its script ran). A young entry without a link
                    # may belong to a create still in progress: it stays.
                    gone.append(entry_id)
            await self._drop(gone)
            if len(entries) < count:
                return items, None
            upper = f"({entries[-1][0].decode()}"

    async def _drop(self, entry_ids: list[bytes]) -> None:
        if entry_ids:
            await self.redis.xdel(self.keys.index, *entry_ids)


_CREATED = Field.CREATED.encode()


def _parts(items: list[Any]) -> list[list[Any]]:
    """The items in order, `_CHUNK_LINKS` at a time."""
    return [items[at : at + _CHUNK_LINKS] for at in range(0, len(items), _CHUNK_LINKS)]


def _entry_ms(entry_id: bytes) -> int:
    return int(entry_id.split(b"-")[0])


def _entry_of(entry_id: bytes, fields: Mapping[bytes, bytes]) -> bool:
    """Is this index entry the one of the link now holding its code?

    The link's creation second is its entry's: an earlier link of the same code was created
    at least a second earlier (its keys outlive its creation by the retention, at least 1 s).
    """
    return _entry_ms(entry_id) // 1000 == int(fields.get(_CREATED, b"-1"))
