"""Idempotency-Key: a retried create returns the first answer instead of creating again.

A caller that lost the reply of a create (a timeout, a dropped connection) sends it again with
the same key and gets the first answer, marked `Idempotent-Replayed: true`. The record is one
Redis hash per API key and Idempotency-Key: claimed atomically by the first request (so of 20
racing ones exactly one creates), then replaced by its answer and kept 24 hours.

Answers of 500 and 503 are not kept: the request may not have happened, and the caller's retry
must be allowed to try again. The claim is a lease, so a process that dies mid-request does
not block the key for a day.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from admin_api.errors import IdempotencyInProgress, IdempotencyMismatch, ValidationFailed
from shared.keys import Keys
from shared.scripts import ScriptRunner

HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"
KEEP_SECONDS = 24 * 3600
LEASE_MS = 15 * 60 * 1000  # longer than any one request may take, uploads included
MAX_KEY_LENGTH = 255
HEADER_ERROR = f"Idempotency-Key: must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
_PRINTABLE = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY_LENGTH}}}")


@dataclass(frozen=True, slots=True)
class Earlier:
    """What the first request with the key left: its fingerprint, and its answer once done."""

    fingerprint: str
    status: int | None
    body: bytes
    location: str | None


def fingerprint(route: str, body: bytes) -> str:
    """The request's identity: its route and its JSON body, key order and spacing aside."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    return hashlib.sha256(route.encode() + b"\n" + canonical).hexdigest()


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class Idempotency:
    def __init__(self, redis: Any, scripts: ScriptRunner, keys: Keys) -> None:
        self.redis = redis
        self.scripts = scripts
        self.keys = keys

    def record_of(self, request: Request) -> str | None:
        """The key's record, scoped to the calling API key; None without the header."""
        value = request.headers.get(HEADER)
        if value is None:
            return None
        if not _PRINTABLE.fullmatch(value):
            raise ValidationFailed([HEADER_ERROR])
        digest = hashlib.sha256(value.encode()).hexdigest()
        return self.keys.idempotency(request.state.caller.key_id, digest)

    async def claim(self, record: str, print_: str) -> Earlier | None:
        """None: this request holds the key now. Otherwise what the first one left."""
        reply = await self.scripts.run("claim_idempotency_key", [record], [print_, LEASE_MS])
        if reply[0] == 0:
            return None
        reply = [*reply, *[None] * (5 - len(reply))]
        status = _text(reply[2])
        return Earlier(
            fingerprint=_text(reply[1]) or "",
            status=int(status) if status is not None else None,
            body=reply[3] or b"",
            location=_text(reply[4]),
        )

    @staticmethod
    def answer(earlier: Earlier, print_: str) -> Response:
        """The first answer again, or why not."""
        if earlier.status is None:
            raise IdempotencyInProgress()
        if earlier.fingerprint != print_:
            raise IdempotencyMismatch()
        headers = {REPLAYED: "true"}
        if earlier.location:
            headers["Location"] = earlier.location
        return Response(earlier.body, earlier.status, headers, media_type="application/json")

    async def finish(self, record: str, print_: str, response: Response) -> None:
        """Keep the answer for 24 hours, or free the key when it may not have happened."""
        if response.status_code >= 500:
            await self.release(record)
            return
        fields = {"f": print_, "s": response.status_code, "b": bytes(response.body)}
        location = response.headers.get("location")
        if location:
            fields["l"] = location
        # Not MULTI (the cluster client has none): the claim's lease TTL covers a crash between.
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(record, mapping=fields)
        pipe.expire(record, KEEP_SECONDS)
        await pipe.execute()

    async def release(self, record: str) -> None:
        await self.redis.delete(record)
