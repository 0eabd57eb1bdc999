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


class Budget:
    """A chat's message budget: a token bucket of ``capacity`` calls, one more every ``period``.

    Telegram tolerates short bursts and about one message per second per private chat, 20 per
    minute per group (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this);
    drafts and edits spend the same budget as messages (reference §1.2: streaming projects
    found edits counted, and draft limits are undocumented, so they are treated the same).
    """

    def __init__(self, capacity: float, period: float, now: float) -> None:
        self.capacity = capacity
        self.period = period
        self._tokens = capacity
        self._stamp = now

    def level(self, now: float) -> float:
        if self.period <= 0:
            return self.capacity
        return min(self.capacity, self._tokens + (now - self._stamp) / self.period)

    def ready_at(self, need: float, now: float) -> float:
        """The earliest time at or after ``now`` when ``need`` tokens are available."""
        missing = need - self.level(now)
        return now if missing <= 1e-9 else now + missing * self.period

    def spend(self, now: float) -> None:
        self._tokens = self.level(now) - 1.0
        self._stamp = now

    def full(self, now: float) -> bool:
        return self.level(now) >= self.capacity - 1e-9

    def reshape(self, capacity: float, period: float, now: float) -> None:
        self._tokens = min(capacity, self.level(now))
        self._stamp = now
        self.capacity, self.period = capacity, period


class Lane:
    """Everything pending for one chat. Ops (finals, calls) run in order before frames.

    Stream frames (drafts, edits of a streamed message) leave ``reserve`` tokens in the budget,
    so the final message of an answer never waits behind its last frame.
    """

    def __init__(
        self, chat_id: int, capacity: float, period: float, reserve: float, now: float
    ) -> None:
        self.chat_id = chat_id
        self.budget = Budget(capacity, period, now)
        self.reserve = reserve
        self.paused_until = 0.0  # retry_after / transient error backoff
        self.failures = 0
        self.ops: deque[Job] = deque()
        self.streams: list[StreamHandle] = []
        self.task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def slots(self, now: float) -> Slots:
        gate = max(now, self.paused_until)
        return Slots(
            now,
            gate,
            self.budget.ready_at(1.0, gate),
            # a bucket smaller than the reserve would starve frames: keep at least one call
            self.budget.ready_at(min(1.0 + self.reserve, self.budget.capacity), gate),
        )

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
        """Sleep up to ``delay``; ``wake`` (new work) ends it early. A bare future and timer:
        an Event under asyncio.timeout cost twice as much, and a lane sleeps several times
        per call it makes (bench/bench_outbox.py)."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(delay, _release, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def wake(self) -> None:
        """New work: end the current sleep, if any (a lane that is busy looks again anyway)."""
        _release(self._waiter)


def _release(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
