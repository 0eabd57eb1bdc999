"""Waiting for a shared semaphore's slot and for a token bucket; both coordinators."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from bot.coordination.protocol import CoordinationUnavailableError, Coordinator
from bot.coordination.stopping import stop_tasks

log = logging.getLogger(__name__)


@asynccontextmanager
async def slot(
    coordinator: Coordinator,
    semaphore: str,
    *,
    limit: int,
    ttl: float = 30.0,
    poll: float = 0.05,
    max_poll: float = 0.5,
) -> AsyncIterator[float]:
    """Hold one of `limit` slots for the block, renewed every `ttl / 3` seconds; yields the
    seconds spent waiting. A holder that dies stops renewing: its slot is free after `ttl`.
    CoordinationUnavailableError while waiting propagates (the caller decides)."""
    holder = uuid.uuid4().hex
    started = time.monotonic()
    delay = poll
    while not await coordinator.acquire_slot(semaphore, holder, limit=limit, ttl=ttl):
        await asyncio.sleep(delay)
        delay = min(max_poll, delay * 1.5)
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
