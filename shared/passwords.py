"""Argon2id hashing in a bounded thread pool, so hashing never stalls the event loop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's minimum for Argon2id: 19 MiB, 2 iterations, 1 lane.
OWASP = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)

_PROFILES = {
    "owasp": OWASP,
    "rfc9106-low": PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY),
    "test": PasswordHasher.from_parameters(profiles.CHEAPEST),
}


class Passwords:
    """Hash and verify off the event loop; at most `threads` hashes run at once."""

    def __init__(self, profile: str, threads: int) -> None:
        self.hasher = _PROFILES[profile]
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.hasher.hash, password)

    async def verify(self, stored: str, password: str) -> tuple[bool, str | None]:
        """(matches, new hash when the stored one was made with weaker parameters)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._verify, stored, password)

    def _verify(self, stored: str, password: str) -> tuple[bool, str | None]:
        try:
            self.hasher.verify(stored, password)
        except VerifyMismatchError:
            return False, None
        except (VerificationError, InvalidHashError):
            return False, None
        if self.hasher.check_needs_rehash(stored):
            return True, self.hasher.hash(password)
        return True, None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
