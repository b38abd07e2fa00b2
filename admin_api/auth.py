"""Who may call: the bootstrap key (from the environment) and named keys (in Redis), by digest."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request

from admin_api.apikeys import ApiKeys, digest
from admin_api.errors import Forbidden, Unauthorized

BOOTSTRAP = "bootstrap"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the key's id and whether it may change anything."""

    key_id: str
    read_only: bool = False

    @property
    def is_bootstrap(self) -> bool:
        return self.key_id == BOOTSTRAP


class Authenticator:
    """No cache: a disabled key is refused on its very next request, in every process."""

    def __init__(self, bootstrap_key: str | None, api_keys: ApiKeys) -> None:
        self._bootstrap_digest = digest(bootstrap_key) if bootstrap_key else None
        self._api_keys = api_keys

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
            return Caller(BOOTSTRAP)
        record = await self._api_keys.find(presented_digest)
        if record is None:
            raise Unauthorized()
        return Caller(record.id, read_only=record.read_only)


def authorize(caller: Caller, method: str) -> None:
    """A read-only key may look but not change anything."""
    if caller.read_only and method not in SAFE_METHODS:
        raise Forbidden("This API key is read-only")


def require_bootstrap(caller: Caller) -> None:
    """Named keys never mint or disable keys: a leaked one cannot make itself a successor."""
    if not caller.is_bootstrap:
        raise Forbidden("Only the bootstrap key may manage API keys")
