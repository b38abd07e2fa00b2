"""Creating, reading, revoking and listing links; the admin side owns every key's TTL."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from admin_api.validation import NewLink
from shared.errors import Conflict, NotFound
from shared.keys import Keys, is_valid_code
from shared.metrics import Metrics
from shared.models import FILE_KIND, Field, Link, link_from_hash, now_ms
from shared.passwords import Passwords
from shared.scripts import ScriptRunner
from shared.settings import Settings

CODE_ALPHABET = string.ascii_letters + string.digits
GENERATED_CODE_LENGTH = 10
_GENERATION_ATTEMPTS = 8


def generate_code() -> str:
    """10 characters of base62 from `secrets`: about 59.5 bits, unguessable."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(GENERATED_CODE_LENGTH))


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
        self.metrics.declare("securelink_links_created_total", "kind", "Links created")

    def to_link(self, code: str, fields: Mapping[Any, Any]) -> Link:
        return link_from_hash(
            code, fields, public_base_url=self.settings.public_base_url, at_ms=self.clock()
        )

    async def create(self, new: NewLink, stored_file: StoredFile | None = None) -> Link:
        """Store the link under its custom code or a fresh one; 409 when a custom code is taken."""
        fields = await self._fields(new, stored_file)
        expire_at = ""
        if new.expires_ms is not None:
            expire_at = str(new.expires_ms + self.settings.retention_seconds * 1000)
        args = [expire_at, "", *(item for pair in fields.items() for item in pair)]
        for _ in range(_GENERATION_ATTEMPTS):
            code = new.custom_code or generate_code()
            created = await self.scripts.run("create_link", [self.keys.link(code)], args)
            if created:
                # Added after the link, so the entry's ID is never older than its creation
                # second; an older entry of this code belonged to an earlier link.
                await self.redis.xadd(self.keys.index, {"c": code})
                link = self.to_link(code, {**fields, Field.CREATED: str(created)})
                self.metrics.inc("securelink_links_created_total", link.kind)
                return link
            if new.custom_code:
                raise Conflict()
        raise RuntimeError("could not find a free short code")  # 8 collisions at 59 bits: a bug

    async def _fields(self, new: NewLink, stored_file: StoredFile | None) -> dict[str, str]:
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
        if new.password is not None:
            fields[Field.PASSWORD] = await self.passwords.hash(new.password)
        return fields

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
            "revoke_link", [self.keys.link(code)], [self.settings.retention_seconds]
        )
        if not reply:
            raise NotFound()
        return self.to_link(code, dict(zip(reply[::2], reply[1::2], strict=True)))

    async def page(self, limit: int, cursor: str | None) -> tuple[list[Link], str | None]:
        """Newest first; entries whose link has gone are dropped from the index on the way."""
        items: list[Link] = []
        if cursor is not None and not any(int(part) for part in cursor.split("-")):
            return [], None  # nothing precedes stream id 0-0, and Redis refuses "(0-0"
        upper = f"({cursor}" if cursor else "+"
        last_id: str | None = None
        while len(items) < limit:
            entries = await self.redis.xrevrange(
                self.keys.index, max=upper, min="-", count=limit - len(items)
            )
            if not entries:
                return items, None
            codes = [entry[1][b"c"].decode() for entry in entries]
            pipe = self.redis.pipeline(transaction=False)
            for code in codes:
                pipe.hgetall(self.keys.link(code))
            hashes = await pipe.execute()
            gone = []
            for (entry_id, _), code, fields in zip(entries, codes, hashes, strict=True):
                if fields and _entry_of(entry_id, fields):
                    items.append(self.to_link(code, fields))
                    last_id = entry_id.decode()
                else:
                    gone.append(entry_id)
            if gone:
                await self.redis.xdel(self.keys.index, *gone)
            upper = f"({entries[-1][0].decode()}"
        more = await self.redis.xrevrange(self.keys.index, max=upper, min="-", count=1)
        return items, (last_id if more else None)


def _entry_of(entry_id: bytes, fields: Mapping[bytes, bytes]) -> bool:
    """Is this index entry the one of the link now holding its code (same server clock)?"""
    entry_ms = int(entry_id.split(b"-")[0])
    return entry_ms >= int(fields.get(b"c", b"0")) * 1000
