"""The per-folder cap on concurrent generations, shared by every replica (Yandex counts them
per folder: reference §8.3), as a semaphore with leases: a replica that dies mid-stream stops
renewing, and its slots come back after `ttl` seconds.

Only one generation per folder and replica asks the store for a slot at a time (the others
wait in this process, in order, for their turn to ask): a hundred questions queued behind the
cap cost one poll every half second per replica, not a hundred.

If the store cannot be reached, generations do not fail for it: the cap falls back to this
process's own semaphore of the same size (logged once per outage), so an outage costs at most
some 429s from Yandex, which the client retries, and the shared cap resumes when it answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from bot.coordination.protocol import CoordinationUnavailableError, Coordinator
from bot.coordination.semaphores import Backoff, slot

log = logging.getLogger(__name__)


class SharedGenerationLimit:
    """Implements bot.foundation_models.limits.GenerationLimit over a Coordinator."""

    def __init__(self, coordinator: Coordinator, limit: int, *, ttl: float = 30.0) -> None:
        if limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.coordinator = coordinator
        self.limit = limit
        self.ttl = ttl
        self._local: dict[str, asyncio.Semaphore] = {}
        self._asking: dict[str, tuple[asyncio.Lock, Backoff]] = {}  # folder -> its asker
        self._degraded = False
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Generations of this replica waiting for a slot right now."""
        return self._waiting

    @asynccontextmanager
    async def slot(self, folder: str) -> AsyncIterator[float]:
        async with AsyncExitStack() as stack:
            name = f"generations:{folder}"
            turn, backoff = self._asking.setdefault(folder, (asyncio.Lock(), Backoff()))
            # Run last on the way out, once the slot is released: the next one here asks now.
            stack.callback(backoff.freed.set)
            shared = slot(self.coordinator, name, limit=self.limit, ttl=self.ttl,
                          backoff=backoff)
            started = time.monotonic()
            self._waiting += 1
            try:
                await self._ask(turn, lambda: stack.enter_async_context(shared))
                if self._waiting == 1:
                    backoff.reset()  # nobody queued behind: the next one starts fast
                waited = time.monotonic() - started
            except CoordinationUnavailableError as exc:
                if not self._degraded:
                    log.warning("generation cap: %s; capping this replica alone until it is "
                                "back", exc)
                self._degraded = True
                waited = await stack.enter_async_context(self._local_slot(folder))
            else:
                if self._degraded:
                    log.info("generation cap: shared again")
                self._degraded = False
            finally:
                self._waiting -= 1
            yield waited

    async def _ask(self, turn: asyncio.Lock, ask: Callable[[], Awaitable[float]]) -> None:
        """`ask` when it is this waiter's turn (FIFO); with Redis away, each asks (and falls
        back) on its own, so a queue of them does not wait out one timeout after another."""
        held = False
        if not self._degraded:
            await turn.acquire()
            held = not self._degraded  # Redis went away while this one waited its turn
            if not held:
                turn.release()
        try:
            await ask()
        finally:
            if held:
                turn.release()

    @asynccontextmanager
    async def _local_slot(self, folder: str) -> AsyncIterator[float]:
        semaphore = self._local.setdefault(folder, asyncio.Semaphore(self.limit))
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with semaphore:
            yield loop.time() - started
