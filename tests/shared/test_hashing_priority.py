"""Password hashing yields the CPU to the event loop: its threads run niced."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from shared.passwords import HASHING_NICENESS, Passwords


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_hashing_threads_run_niced_and_the_loop_does_not() -> None:
    passwords = Passwords("test", 1)

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(passwords._pool, niceness)

    try:
        hashing = asyncio.run(scenario())
    finally:
        passwords.close()

    assert hashing == HASHING_NICENESS
    assert niceness() == os.getpriority(os.PRIO_PROCESS, 0)
