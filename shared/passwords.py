"""Argon2id hashing in a bounded thread pool, so hashing never stalls the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import Parameters, PasswordHasher, Type, extract_parameters, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

logger = logging.getLogger("securelink")

# OWASP's minimum for Argon2id: 19 MiB, 2 iterations, 1 lane.
OWASP = Parameters(
    type=Type.ID,
    version=19,
    salt_len=16,
    hash_len=32,
    time_cost=2,
    memory_cost=19 * 1024,
    parallelism=1,
)

PROFILES = {
    "owasp": OWASP,
    "rfc9106-low": profiles.RFC_9106_LOW_MEMORY,  # 64 MiB, 3 iterations, 4 lanes
    "test": profiles.CHEAPEST,  # 8 KiB, 1 iteration: for tests only
}


def is_weaker(stored: Parameters, wanted: Parameters) -> bool:
    """Worth a rehash: not Argon2id, an older version, or less memory, time or output.

    check_needs_rehash alone also says yes for a *stronger* hash, and lowering the profile
    must never downgrade the hashes already stored.
    """
    return (
        stored.type is not Type.ID
        or stored.version < wanted.version
        or stored.memory_cost < wanted.memory_cost
        or stored.time_cost < wanted.time_cost
        or stored.hash_len < wanted.hash_len
        or stored.salt_len < wanted.salt_len
    )


HASHING_NICENESS = 19


def _yield_to_the_loop() -> None:
    """Hashing threads run niced, so password guessing cannot starve the redirects on the loop."""
    if sys.platform.startswith("linux"):  # elsewhere a thread id is no process id to renice
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class Passwords:
    """Hash and verify off the event loop; at most `threads` hashes run at once."""

    def __init__(self, profile: str, threads: int) -> None:
        self.parameters = PROFILES[profile]
        self.hasher = PasswordHasher.from_parameters(self.parameters)
        self._pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="argon2", initializer=_yield_to_the_loop
        )

    async def hash(self, password: str) -> str:
        """An Argon2id hash in PHC form ($argon2id$v=19$m=...), salted."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.hasher.hash, password)

    async def verify(self, stored: str, password: str) -> tuple[bool, str | None]:
        """(matches, a new hash when the stored one was made with weaker parameters)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._verify, stored, password)

    def _verify(self, stored: str, password: str) -> tuple[bool, str | None]:
        try:
            self.hasher.verify(stored, password)
        except VerifyMismatchError:
            return False, None
        except (VerificationError, InvalidHashError):
            # A damaged stored hash: no password can match it. Never log the password.
            logger.warning("a stored password hash could not be read; no password will match")
            return False, None
        if self.hasher.check_needs_rehash(stored) and is_weaker(
            extract_parameters(stored), self.parameters
        ):
            return True, self.hasher.hash(password)
        return True, None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
