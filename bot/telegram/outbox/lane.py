"""Pacing primitives: the bot-wide pacer and the per-chat lane."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.telegram.outbox.jobs import Job, Slots

if TYPE_CHECKING:
    from bot.telegram.outbox.stream import StreamHandle


class Pacer:
    """Bot-wide spacing of at least ``1/rate`` between the moments calls are made.

    Slots are taken in FIFO order (asyncio.Lock is fair) and measured from the actual moment
    a call goes out, so a late wake-up never turns queued reservations into a burst.
    """

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self._spacing = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            delay = self._next - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = self._clock() + self._spacing


class Lane:
    """Everything pending for one chat. Ops (finals, calls) run in order before frames."""

    def __init__(self, chat_id: int, interval: float, draft_interval: float) -> None:
        self.chat_id = chat_id
        self.interval = interval
        self.draft_interval = draft_interval
        self.next_slot = 0.0  # earliest time of the next message / edit / delete
        self.next_draft = 0.0  # earliest time of the next draft with text
        self.paused_until = 0.0  # retry_after / transient error backoff
        self.failures = 0
        self.ops: deque[Job] = deque()
        self.streams: list[StreamHandle] = []
        self.task: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()

    def slots(self, now: float) -> Slots:
        gate = max(now, self.paused_until)
        return Slots(now, gate, max(gate, self.next_slot), max(gate, self.next_draft))

    def pick(self, slots: Slots) -> tuple[Job | None, float]:
        while self.ops and self.ops[0].done:
            self.ops.popleft()
        if self.ops:
            at = self.ops[0].ready_at(slots)
            return self.ops[0], slots.message if at is None else at
        self.streams = [s for s in self.streams if s.streaming]
        best: tuple[Job | None, float] = (None, 0.0)
        for stream in self.streams:
            at = stream.ready_at(slots)
            if at is not None and (best[0] is None or at < best[1]):
                best = (stream, at)
        return best

    @property
    def idle(self) -> bool:
        return self.task is None and not self.ops and not self.streams

    async def sleep(self, delay: float) -> None:
        """Sleep up to ``delay``; new work wakes the lane early."""
        self.wake.clear()
        try:
            async with asyncio.timeout(delay):
                await self.wake.wait()
        except TimeoutError:
            pass
