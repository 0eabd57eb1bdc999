"""The adaptive draft rate of several replicas: a draft 429 lowers it on every replica.

Drafts are paced per replica (each at its share of TELEGRAM_DRAFT_RATE): Telegram documents no
draft limit and does not count drafts in the 30/s, so there is no bucket to share. What is
shared is the lowering: a replica that gets a draft 429 publishes its ``retry_after`` as a
signal in Redis and on a channel; the others hear it on the channel at once (or, should that
message be lost, read the signal within ``every`` seconds, and at once after a gap in their
subscription) and lower their own rate as if the 429 had been theirs (budget.py's
``AdaptiveBudget``: 429s within ``settle`` seconds of a fall extend the hold but do not lower
it again, so one flood seen by several replicas lowers each once). Redis unreachable: each
replica adapts to its own 429s, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.coordination import GAP, CoordinationUnavailableError, Coordinator
from bot.coordination.periodic import Period
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
        # Only the backstop for a lost channel message: one read per replica every 10 s (the
        # channel brings the signal at once); every second was a third of a replica's Redis
        # calls when idle.
        every: float = 10.0,
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
        self._listener: asyncio.Task[None] | None = None
        self._publishing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        if self._watcher is None:
            loop = asyncio.get_running_loop()
            self._watcher = loop.create_task(self._watch(), name="draft-floods")
            self._listener = loop.create_task(self._listen(), name="draft-flood-channel")

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
        try:
            await self.coordinator.publish(SIGNAL, f"{seq} {retry_after!r}")
        except CoordinationUnavailableError as exc:  # the others read the signal later
            log.debug("draft 429 not published to the other replicas: %s", exc)

    async def _watch(self) -> None:
        period = Period(self.every)  # a backstop read: it may ride with another call
        while True:
            await self._read(within=await period.tick())

    async def _listen(self) -> None:
        subscription = self.coordinator.subscribe(SIGNAL)
        try:
            async for payload in subscription:
                if payload is GAP:  # subscribed again: what was published meanwhile is lost
                    await self._read()
                    continue
                try:
                    seq, retry_after = payload.split()
                    self._apply(int(seq), float(retry_after))
                except ValueError:
                    log.warning("draft flood signal %r not understood", payload)
        finally:
            await subscription.aclose()

    async def _read(self, within: float = 0.0) -> None:
        try:
            found = await self.coordinator.last_signal(SIGNAL, within=within)
        except CoordinationUnavailableError as exc:
            log.debug("draft floods of the other replicas not read: %s", exc)
            return
        if found is not None:
            self._apply(*found)

    def _apply(self, seq: int, retry_after: float) -> None:
        if seq <= self._seen:
            return
        self._seen = seq
        if seq in self._mine:
            return
        log.warning("another replica got a draft 429 (retry_after %.1f s)", retry_after)
        super().flooded(retry_after)

    async def aclose(self) -> None:
        await stop_tasks(self._watcher, self._listener, *self._publishing)
