"""Per-chat pacing: a chat's budgets and the lane that holds its pending work."""

from __future__ import annotations

import asyncio
import math
from collections import deque

from bot.telegram.outbox.budget import ChatPace
from bot.telegram.outbox.jobs import Call, Job, Slots, StreamJob


class Budget:
    """A chat's message budget: a token bucket of ``capacity`` calls, one more every ``period``.

    Telegram tolerates short bursts and about one message per second per private chat, 20 per
    minute per group (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this);
    edits spend the same budget as messages (reference §1.2). Drafts have a budget of their
    own per chat (``Lane.drafts``): their limits are undocumented and not those of messages.
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


class ChatWindow:
    """A group's hard limit: at most ``limit`` messages in any ``span`` seconds (Telegram's
    20 a minute). The chat's ``Budget`` paces the group well under it (3 at once, then one
    every 3.6 s); this window makes the limit exact whatever the timers do. A lane makes one
    call at a time and stamps it when the answer came (after the request reached Telegram),
    so the stamps never hold fewer calls than Telegram counted in any window."""

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self._stamps: deque[float] = deque()

    def ready_at(self, need: float, now: float) -> float:
        """The earliest time at or after ``now`` when ``need`` more calls fit (``need`` - 1
        left for calls that matter more: the final, the next answer's first text)."""
        stamps = self._stamps
        while stamps and stamps[0] <= now - self.span:
            stamps.popleft()
        over = len(stamps) + math.ceil(need - 1e-9) - self.limit
        if over <= 0:
            return now
        if over > len(stamps):  # a reserve larger than the window: keep one call for frames
            return stamps[-1] + self.span if stamps else now
        return stamps[over - 1] + self.span

    def spend(self, now: float) -> None:
        self._stamps.append(now)

    def full(self, now: float) -> bool:
        return self.ready_at(self.limit, now) <= now


class Lane:
    """Everything pending for one chat. Ops (finals, calls) run in order before frames.

    Later frames that are messages or edits leave ``reserve`` tokens in the message budget,
    so the final message of an answer never waits behind its last frame. Drafts spend
    ``drafts``, later draft frames leaving ``draft_reserve`` in it (for the final text's
    preview: runner.py); a 429 on a draft pauses only drafts (``draft_paused_until``), never
    the final.
    """

    def __init__(
        self,
        chat_id: int,
        capacity: float,
        period: float,
        reserve: float,
        now: float,
        drafts: Budget,
        draft_reserve: float = 0.0,
        window: ChatWindow | None = None,
    ) -> None:
        self.chat_id = chat_id
        self.budget = Budget(capacity, period, now)
        self.window = window  # groups: 20 a minute, exactly
        self.drafts = drafts
        self.draft_reserve = draft_reserve
        self.reserve = reserve
        # While the lane waits for a frame's slot: from then on, an update() wakes it.
        self.update_wakes_at = math.inf
        self.paused_until = 0.0  # retry_after / transient error backoff
        self.draft_paused_until = 0.0  # retry_after of a draft
        self.failures = 0
        self.ops: deque[Job] = deque()
        self.streams: list[StreamJob] = []
        self.task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def slots(self, now: float) -> Slots:
        gate = max(now, self.paused_until)
        draft_gate = max(gate, self.draft_paused_until)
        message = self.budget.ready_at(1.0, gate)
        # a bucket smaller than the reserve would starve frames: keep at least one call
        frame = self.budget.ready_at(min(1.0 + self.reserve, self.budget.capacity), gate)
        if self.window is not None:
            message = max(message, self.window.ready_at(1.0, gate))
            frame = max(frame, self.window.ready_at(1.0 + self.reserve, gate))
        return Slots(
            now,
            gate,
            message,
            frame,
            self.drafts.ready_at(1.0, draft_gate),
            self.drafts.ready_at(min(1.0 + self.draft_reserve, self.drafts.capacity), draft_gate),
        )

    def spend(self, call: Call, now: float) -> None:
        """A heavy call's answer came: it counts in the chat's budgets from now."""
        if call.is_draft:
            self.drafts.spend(now)
            return
        self.budget.spend(now)
        if self.window is not None:
            self.window.spend(now)

    def pace(self, call: Call) -> ChatPace | None:
        """The chat's message budget, for a bot-wide budget that shares it across replicas
        (light calls and drafts do not spend it)."""
        if not call.heavy or call.is_draft:
            return None
        budget = self.budget
        return ChatPace(self.chat_id, budget.capacity, budget.period, self.reserve)

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

    async def wait_grant(self, grant: asyncio.Future[None]) -> bool:
        """Wait for a bot-wide slot; False when new work (``wake``) came first, and then the
        place in the queue is given up (the lane looks again at what to send)."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        grant.add_done_callback(lambda _: _release(waiter))
        try:
            await waiter
        except BaseException:  # the outbox is closing: leave the queue
            grant.cancel()
            raise
        finally:
            self._waiter = None
        # cancel() is False when the slot was granted meanwhile: then it is ours to use
        return not grant.cancel()

    def wake(self) -> None:
        """New work: end the current sleep, if any (a lane that is busy looks again anyway)."""
        _release(self._waiter)


def _release(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
