"""Waiting for something a real process will do, bounded in time (never a bare sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def wait_for(predicate: Callable[[], Awaitable[Any]], timeout_s: float, what: str) -> Any:
    """The first truthy value of ``predicate()``, polled every 0.2 s; fails naming ``what`` once
    ``timeout_s`` have passed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
