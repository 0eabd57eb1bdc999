"""The job runner's pacing of Yandex's operation quotas (polls a second, submits an hour)
and the reading of a model's JSON answer."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any


class Pacer:
    """At most `rate` calls a second in this process (the operations quota): each call at
    least `interval` after the one before, in arrival order.

    The next call's time is reckoned from when the one before actually went, not booked in
    advance: with times booked ahead, every waiter whose time passed while the event loop was
    held up (a busy machine, a long callback) woke at once, and a stall turned into a burst
    past Yandex's quota (3 submits refused in a suite run beside a busy loop)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            loop = asyncio.get_running_loop()
            delay = self._next - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = loop.time() + self.interval


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


def parse_json(text: str) -> dict[str, Any] | None:
    """The JSON object in the model's answer (a ```json fence tolerated); None when none."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`")
        body = body.split("\n", 1)[1] if "\n" in body else body
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        data = json.loads(body[start : end + 1])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
