"""Waiting for a condition in a test: poll it until it holds, or fail after a deadline.

The deadline bounds a wait, it is not what a test measures: it is generous (tens of seconds)
so that a slow, busy machine meets the condition long before it, and only a condition that
never comes true reaches it. A test that waits never sleeps for a fixed time instead.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

T = TypeVar("T")

TIMEOUT_SECONDS = 30.0
INTERVAL_SECONDS = 0.05


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float = TIMEOUT_SECONDS,
    interval: float = INTERVAL_SECONDS,
    message: str = "",
) -> T:
    """condition()'s first true value, asked every `interval` s; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_failure(timeout, message or condition, value))
        time.sleep(interval)


async def wait_until_async(
    condition: Callable[[], Awaitable[T]] | Callable[[], T],
    *,
    timeout: float = TIMEOUT_SECONDS,
    interval: float = INTERVAL_SECONDS,
    message: str = "",
) -> T:
    """wait_until inside an event loop, which keeps running between two asks; `condition` may
    be a plain function or a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return cast(T, value)
        if time.monotonic() >= deadline:
            raise AssertionError(_failure(timeout, message or condition, value))
        await asyncio.sleep(interval)


def _failure(timeout: float, what: object, last: object) -> str:
    return f"not true within {timeout:g} s: {what} (last value: {last!r})"
