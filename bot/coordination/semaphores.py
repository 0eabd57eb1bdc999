"""Waiting for a shared semaphore's slot (the pace of asking) and for a token bucket; both
coordinators. And the semaphore a replica falls back to while the store is away."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.coordination.protocol import Coordinator


@dataclass(slots=True)
class Backoff:
    """How long to wait before asking again: from `poll`, times 1.5 per refusal, up to
    `max_poll`, or until `freed` says a slot came free in this process. Shared by the waiters
    that take turns asking (SharedGenerationLimit), so the next one goes on at the pace the
    store has been refusing at instead of starting fast (and asking in vain at once)."""

    poll: float = 0.05
    max_poll: float = 0.5
    delay: float = 0.0
    freed: asyncio.Event = field(default_factory=asyncio.Event)

    def next(self, cap: float | None = None) -> float:
        """The next delay: times 1.5, up to `cap` (default `max_poll`)."""
        cap = self.max_poll if cap is None else cap
        self.delay = min(cap, self.delay * 1.5) if self.delay else self.poll
        return self.delay

    def reset(self) -> None:
        self.delay = 0.0

    async def pause(self) -> None:
        """`delay` seconds, or less if a slot is freed here meanwhile."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.delay):
                await self.freed.wait()
        self.freed.clear()


async def spend(
    coordinator: Coordinator,
    bucket: str,
    *,
    rate: float,
    burst: float,
    cost: float = 1.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> float:
    """Take `cost` tokens, waiting as long as the bucket says (tokens are reserved, so
    waiters are served in arrival order); returns the seconds waited."""
    wait = await coordinator.take(bucket, rate=rate, burst=burst, cost=cost, reserve=True)
    if wait > 0:
        await sleep(wait)
    return wait


class ShareSemaphore:
    """A semaphore of `size()` slots, read at every grant: a replica's own cap while the
    store is away sized by its share as the census counts *now*. Sized once, it kept the share
    of the first outage, above the share of a later one (the census counting more replicas
    meanwhile), and the replicas together admitted more than the cap. A size that shrinks
    takes effect as slots are given back; waiters are served in order."""

    def __init__(self, size: Callable[[], int]) -> None:
        self.size = size
        self.held = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if not self._waiters and self.held < max(1, self.size()):
            self.held += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # granted as it was cancelled: on to the next one
            raise

    def release(self) -> None:
        self.held -= 1
        while self._waiters and self.held < max(1, self.size()):
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.held += 1
                waiter.set_result(None)
