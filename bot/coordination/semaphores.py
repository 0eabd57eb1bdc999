"""Waiting for a shared semaphore's slot and for a token bucket; both coordinators."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.coordination.protocol import CoordinationUnavailableError, Coordinator
from bot.coordination.stopping import stop_tasks

log = logging.getLogger(__name__)


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

    def next(self) -> float:
        self.delay = min(self.max_poll, self.delay * 1.5) if self.delay else self.poll
        return self.delay

    def reset(self) -> None:
        self.delay = 0.0

    async def pause(self) -> None:
        """`delay` seconds, or less if a slot is freed here meanwhile."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.delay):
                await self.freed.wait()
        self.freed.clear()


@asynccontextmanager
async def slot(
    coordinator: Coordinator,
    semaphore: str,
    *,
    limit: int,
    ttl: float = 30.0,
    poll: float = 0.05,
    max_poll: float = 0.5,
    backoff: Backoff | None = None,
) -> AsyncIterator[float]:
    """Hold one of `limit` slots for the block, renewed every `ttl / 3` seconds; yields the
    seconds spent waiting. A holder that dies stops renewing: its slot is free after `ttl`.
    CoordinationUnavailableError while waiting propagates (the caller decides)."""
    holder = uuid.uuid4().hex
    started = time.monotonic()
    backoff = backoff or Backoff(poll, max_poll)
    if backoff.delay:  # the store has been refusing: wait for a release here, or one poll
        await backoff.pause()
    while not await coordinator.acquire_slot(semaphore, holder, limit=limit, ttl=ttl):
        backoff.next()  # another replica's release tells no one: poll
        await backoff.pause()
    renewer = asyncio.create_task(_renew(coordinator, semaphore, holder, ttl))
    try:
        yield time.monotonic() - started
    finally:
        await stop_tasks(renewer)
        try:
            await coordinator.release_slot(semaphore, holder)
        except CoordinationUnavailableError as exc:
            log.warning("slot of %s not released (%s); it expires by itself", semaphore, exc)


async def _renew(coordinator: Coordinator, semaphore: str, holder: str, ttl: float) -> None:
    while True:
        await asyncio.sleep(ttl / 3)
        try:
            if not await coordinator.renew_slot(semaphore, holder, ttl):
                log.warning("slot of %s expired before it was renewed", semaphore)
                return
        except CoordinationUnavailableError as exc:
            log.warning("slot of %s not renewed: %s", semaphore, exc)


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
