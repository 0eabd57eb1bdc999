"""Pacing calls to a Yandex quota from one process: a rate (requests a second) and a cap in a
rolling hour. The embedder and the desk's insight jobs share these.

A call's turn is reckoned from when the one before actually went, never booked ahead: with
times booked in advance, every waiter whose time passed while the event loop was held up (a
busy machine, a long callback) woke at once, and a stall turned into a burst past the quota
(3 operation submits refused in a suite run beside a busy loop).
"""

from __future__ import annotations

import asyncio
from collections import deque


class Pacer:
    """Calls at least `slack / rate` seconds apart, in arrival order (0 rate: no pacing).
    `slack` over 1: calls leave a busy event loop a little late or early, and two sent closer
    than planned must still not make N+1 in any second the server counts."""

    def __init__(self, rate: float, *, slack: float = 1.0) -> None:
        self.interval = slack / rate if rate > 0 else 0.0
        self._next = 0.0  # the loop's time before which no call goes
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """No call for `seconds` from now (after a 429 or a failure); a call already past its
        wait still goes."""
        now = asyncio.get_running_loop().time()
        self._next = max(self._next, now + seconds)

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            loop = asyncio.get_running_loop()
            delay = self._next - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # A hold that came during the sleep keeps the next call back, not this one.
            self._next = max(self._next, loop.time()) + self.interval


class HourlyCap:
    """At most `limit` events in any `hour` seconds (the 5,000 submits an hour quota)."""

    def __init__(self, limit: int, hour: float = 3600.0) -> None:
        self.limit = limit
        self.hour = hour
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self.limit <= 0:
            return
        async with self._lock:
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                while self._times and self._times[0] <= now - self.hour:
                    self._times.popleft()
                if len(self._times) < self.limit:
                    self._times.append(now)
                    return
                await asyncio.sleep(self._times[0] + self.hour - now)
