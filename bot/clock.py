"""The clock fmbot times things on: the running event loop's (`loop.time()`).

What waits with `asyncio.sleep`, `call_later` or `asyncio.timeout` runs on the loop's clock, so
what measures the same intervals (rate limits, pacing, caches' lifetimes, deadlines of
polling) reads it too: on a loop with a virtual clock (a `BotTester`'s, bot/testing/clock.py)
both move together. The wall clock (`time.time()`, `datetime.now()`) stays for timestamps
that leave the process: stored in the database, sent to Telegram, a token's expiry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time


def loop_time() -> float:
    """The running event loop's clock (`time.monotonic` outside one)."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


def wall_now() -> dt.datetime:
    """Now (UTC) for deadlines the bot stores and keeps itself (a wait of hours or days kept
    in the database, found by a sweep): the wall clock, moved on by what the loop's clock has
    jumped ahead of the monotonic clock (a test kit's virtual clock), so a test that lets
    three days pass sees the deadline pass. On an ordinary loop both clocks are the same
    (less than a second apart is taken as the same) and this is `datetime.now(UTC)`."""
    now = dt.datetime.now(dt.UTC)
    ahead = loop_time() - time.monotonic()
    return now + dt.timedelta(seconds=ahead) if ahead >= 1.0 else now
