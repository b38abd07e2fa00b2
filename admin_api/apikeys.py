"""Named API keys: the secret is shown once, kept only as its SHA-256 digest, disabled at once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from admin_api.errors import NotFound, ValidationFailed
from shared.keys import Keys
from shared.models import format_ms, now_ms

MAX_NAME_LENGTH = 100
# Format (bidi, zero-width), surrogate, line and paragraph separator characters.
CONTROL_CATEGORY = "Cc"
FORMAT_CATEGORIES = frozenset({"Cf", "Cs", "Zl", "Zp"})
KEY_PREFIX = "sl_"
LAST_USE_RESOLUTION_MS = 60_000  # lastUsedAt is written at most once a minute per key and process
_ID_ALPHABET = set("0123456789abcdef")
ID_LENGTH = 16


class ApiKeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What Redis keeps of a key: never the secret, only its digest."""

    id: str
    name: str
    read_only: bool
    created_ms: int
    digest: str
    disabled_ms: int | None = None


_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(ApiKeyRecord).decode


def digest(secret: str) -> str:
    """SHA-256 is enough: keys are 256 random bits, not passwords a dictionary could guess."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def is_valid_key_id(key_id: str) -> bool:
    return len(key_id) == ID_LENGTH and set(key_id) <= _ID_ALPHABET


def validate_key_request(data: Mapping[str, Any]) -> tuple[str, bool]:
    """POST /api/v1/keys: a name of 1 to 100 characters without control characters; readOnly."""
    errors = []
    name = data.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        errors.append("name: must not be blank")
    elif not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
        errors.append(f"name: must be 1 to {MAX_NAME_LENGTH} characters")
    elif any(unicodedata.category(char) == CONTROL_CATEGORY for char in name):
        errors.append("name: must not contain control characters")
    elif any(unicodedata.category(char) in FORMAT_CATEGORIES for char in name):
        # a\u202eb shows as "ab" reversed: a listing of keys would lie about their names.
        errors.append("name: must not contain format characters (bidi controls, zero-width)")
    read_only = data.get("readOnly", False)
    if read_only is None:
        read_only = False
    if not isinstance(read_only, bool):
        errors.append("readOnly: must be a boolean")
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(name, str)
    return name, read_only


class ApiKeys:
    """The named keys of one deployment, in three hashes that share one hash tag."""

    def __init__(self, redis: Any, keys: Keys, clock: Callable[[], int] = now_ms) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self._last_written: dict[str, int] = {}

    async def create(self, name: str, read_only: bool) -> tuple[dict[str, Any], str]:
        """A new key's public view and its secret, which is returned this once and never again."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            id=secrets.token_hex(ID_LENGTH // 2),
            name=name,
            read_only=read_only,
            created_ms=self.clock(),
            digest=digest(secret),
        )
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.keys.api_keys, record.id, _encode(record))
        pipe.hset(self.keys.api_key_digests, record.digest, record.id)
        await pipe.execute()
        return self._public(record, None), secret

    async def list(self) -> list[dict[str, Any]]:
        """Every key ever made, oldest first, disabled ones included for the audit trail."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.api_keys)
        pipe.hgetall(self.keys.api_key_last_used)
        raw_records, raw_used = await pipe.execute()
        used = {key.decode(): int(value) for key, value in raw_used.items()}
        records = sorted(
            (_decode_record(value) for value in raw_records.values()),
            key=lambda record: (record.created_ms, record.id),
        )
        return [self._public(record, used.get(record.id)) for record in records]

    async def disable(self, key_id: str) -> None:
        """Effective at once in every process: authentication reads Redis on every request."""
        if not is_valid_key_id(key_id):
            raise NotFound("API key not found")
        raw = await self.redis.hget(self.keys.api_keys, key_id)
        if raw is None:
            raise NotFound("API key not found")
        record = _decode_record(raw)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.keys.api_key_digests, record.digest)
        if record.disabled_ms is None:
            disabled = msgspec.structs.replace(record, disabled_ms=self.clock())
            pipe.hset(self.keys.api_keys, key_id, _encode(disabled))
        await pipe.execute()

    async def find(self, presented_digest: str) -> ApiKeyRecord | None:
        """The enabled key with this digest, or None; its last use is noted on the way."""
        key_id = await self.redis.hget(self.keys.api_key_digests, presented_digest)
        if key_id is None:
            return None
        raw = await self.redis.hget(self.keys.api_keys, key_id)
        if raw is None:
            return None
        record = _decode_record(raw)
        if record.disabled_ms is not None or not hmac.compare_digest(
            record.digest, presented_digest
        ):
            return None
        await self._note_use(record.id)
        return record

    async def _note_use(self, key_id: str) -> None:
        now = self.clock()
        if now - self._last_written.get(key_id, 0) < LAST_USE_RESOLUTION_MS:
            return
        self._last_written[key_id] = now
        await self.redis.hset(self.keys.api_key_last_used, key_id, str(now))

    @staticmethod
    def _public(record: ApiKeyRecord, last_used_ms: int | None) -> dict[str, Any]:
        return {
            "id": record.id,
            "name": record.name,
            "readOnly": record.read_only,
            "createdAt": format_ms(record.created_ms),
            "lastUsedAt": format_ms(last_used_ms) if last_used_ms is not None else None,
            "disabledAt": format_ms(record.disabled_ms) if record.disabled_ms is not None else None,
        }
