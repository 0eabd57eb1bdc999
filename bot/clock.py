"""The clock fmbot times things on: the running event loop's (`loop.time()`).

What waits with `asyncio.sleep`, `call_later` or `asyncio.timeout` runs on the loop's clock, so
what measures the same intervals (rate limits, pacing, caches' lifetimes, deadlines of
polling) reads it too: on a loop with a virtual clock (a `BotTester`'s, bot/testing/clock.py)
both move together. The wall clock (`time.time()`, `datetime.now()`) stays for timestamps
that leave the process: stored in the database, sent to Telegram, a token's expiry.
"""

from __future__ import annotations

import asyncio
import time


def loop_time() -> float:
    """The running event loop's clock (`time.monotonic` outside one)."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()
