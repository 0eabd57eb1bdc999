"""Per-user sliding-window rate limit (RATE_LIMIT_PER_MINUTE).

One process: in memory. Several replicas: one rolling window per user in the coordination
layer (Redis), so N replicas allow the limit once, not N times (`check`); while the store does
not answer, each replica limits on its own (the messages are not refused for it).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import deque
from collections.abc import Callable

from bot.clock import loop_time
from bot.coordination import CoordinationError, Coordinator, Window

log = logging.getLogger(__name__)


class RateLimiter:
    """At most `limit` hits per `window` seconds per key; `limit=0` disables the check."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = loop_time,
        coordinator: Coordinator | None = None,
        exempt: Callable[[int], bool] | None = None,
    ) -> None:
        """`exempt`: keys never limited (simulated customers, who write one message per
        answer however fast the test runs: bot.testing's `simulate`, `fmbot eval`)."""
        self.limit = limit
        self._exempt = exempt
        self.window = window
        self._clock = clock
        self._coordinator = coordinator
        self._hits: dict[int, deque[float]] = {}
        self._refused: set[int] = set()
        self._last_sweep = clock()

    async def check(self, key: int) -> float:
        """`hit`, counted across replicas when there is a coordinator: 0 when allowed, else
        the seconds until a message is allowed."""
        if self._exempt is not None and self._exempt(key):
            return 0.0
        if self.limit <= 0 or self._coordinator is None:
            return self.hit(key)
        window = Window(f"ratelimit:{key}", self.limit, self.window)
        try:
            # Each message counts `window` seconds from its admission (never settled).
            wait, _ = await self._coordinator.admit(window, uuid.uuid4().hex, hold=self.window)
        except CoordinationError as exc:
            log.warning("the shared rate limit is not available (%s): limiting here", exc)
            return self.hit(key)
        if wait:
            return max(wait, 0.001)
        self._refused.discard(key)
        return 0.0

    def hit(self, key: int) -> float:
        """Record a hit if allowed and return 0; otherwise return seconds until one is allowed.

        A refused hit is not recorded, so a user who keeps trying is not locked out longer."""
        if self.limit <= 0:
            return 0.0
        now = self._clock()
        self._sweep(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(hits[0] + self.window - now, 0.001)
        hits.append(now)
        self._refused.discard(key)
        return 0.0

    def first_refusal(self, key: int) -> bool:
        """True once per run of refusals, so the user is told once, not for every message."""
        if key in self._refused:
            return False
        self._refused.add(key)
        return True

    def _sweep(self, now: float) -> None:
        # Forget idle users now and then so the table does not grow with every user ever seen.
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        idle = [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]
        for key in idle:
            del self._hits[key]
            self._refused.discard(key)


def whole_seconds(delay: float) -> int:
    return max(1, math.ceil(delay))
