"""API keys: the bootstrap key is kept only as its SHA-256 digest and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import Request

from shared.errors import Unauthorized


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the key's id and whether it may change anything."""

    key_id: str
    read_only: bool = False


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Authenticator:
    def __init__(self, bootstrap_key: str | None) -> None:
        self._bootstrap_digest = digest(bootstrap_key) if bootstrap_key else None

    async def authenticate(self, request: Request) -> Caller:
        """The Bearer key's caller, or 401."""
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        presented = presented.strip()
        if scheme.lower() != "bearer" or not presented:
            raise Unauthorized()
        presented_digest = digest(presented)
        if self._bootstrap_digest is not None and hmac.compare_digest(
            presented_digest, self._bootstrap_digest
        ):
            return Caller("bootstrap")
        raise Unauthorized()
