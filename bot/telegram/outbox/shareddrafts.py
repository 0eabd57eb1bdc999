"""The adaptive draft rate of several replicas: a draft 429 lowers it on every replica.

Drafts are paced per replica (each at its share of TELEGRAM_DRAFT_RATE): Telegram documents no
draft limit and does not count drafts in the 30/s, so there is no bucket to share. What is
shared is the lowering: a replica that gets a draft 429 publishes its ``retry_after`` as a
signal in Redis, and the others, reading it every ``every`` seconds, lower their own rate as
if the 429 had been theirs (budget.py's ``AdaptiveBudget``: 429s within ``settle`` seconds of
a fall extend the hold but do not lower it again, so one flood seen by several replicas
lowers each once). Redis unreachable: each replica adapts to its own 429s, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.coordination import CoordinationUnavailableError, Coordinator
from bot.coordination.stopping import stop_tasks
from bot.telegram.outbox.budget import AdaptiveBudget

log = logging.getLogger(__name__)

SIGNAL = "draft-flood"


class SharedAdaptiveBudget(AdaptiveBudget):
    def __init__(
        self,
        coordinator: Coordinator,
        rate: float,
        *,
        floor: float,
        recovery: float,
        burst: float = 1.0,
        every: float = 1.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if clock is None:
            super().__init__(rate, floor=floor, recovery=recovery, burst=burst)
        else:
            super().__init__(rate, floor=floor, recovery=recovery, burst=burst, clock=clock)
        self.coordinator = coordinator
        self.every = every
        self._seen = 0  # the last signal applied (or published) here
        self._mine: set[int] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._publishing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(
                self._watch(), name="draft-floods"
            )

    def flooded(self, retry_after: float) -> None:
        super().flooded(retry_after)
        task = asyncio.get_running_loop().create_task(self._publish(retry_after))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _publish(self, retry_after: float) -> None:
        try:
            # Live a little longer than one reading period, so every replica sees it.
            seq = await self.coordinator.signal(SIGNAL, retry_after, retry_after + 2 * self.every)
        except CoordinationUnavailableError as exc:
            log.debug("draft 429 not told to the other replicas: %s", exc)
            return
        self._mine.add(seq)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                found = await self.coordinator.last_signal(SIGNAL)
            except CoordinationUnavailableError as exc:
                log.debug("draft floods of the other replicas not read: %s", exc)
                continue
            if found is None or found[0] <= self._seen:
                continue
            seq, retry_after = found
            self._seen = seq
            if seq in self._mine:
                continue
            log.warning("another replica got a draft 429 (retry_after %.1f s)", retry_after)
            super().flooded(retry_after)

    async def aclose(self) -> None:
        await stop_tasks(self._watcher, *self._publishing)
