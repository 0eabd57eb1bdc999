"""Bot-wide budgets: when a call of a given priority may go.

This is the seam between the outbox and whatever shares Telegram's bot-wide limits: the
in-process ``LocalBudget`` here, and later one backed by Redis when several replicas share a
bot. A lane asks ``reserve(priority)`` just before it makes a call; the budget answers "now"
(``None``) or a future resolved when the call may go, and says ``sent()`` when Telegram's answer
came (or ``refund()`` when the slot went unused). Waiting calls are served by priority, first
come first served within one (``Priority``: what the user sees decides).

Two budgets per bot: messages (sends and edits, Telegram's ~30 per second,
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this: a rolling
window, ``WindowBudget`` in window.py, never a 31st message in any second) and drafts
(``sendMessageDraft``: no documented limit, but floods of drafts are answered with 429 and long
``retry_after`` values, so its rate adapts: ``AdaptiveBudget``).
"""

from __future__ import annotations

import abc
import asyncio
import enum
import heapq
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.clock import loop_time

logger = logging.getLogger(__name__)


class Priority(enum.IntEnum):
    """Smaller goes first. The rule: a chat that shows nothing of its answer yet goes before a
    chat that shows some of it, and a complete text before a partial one. Each answer has one
    first visible text, so the finals behind the first texts wait at most one slot per answer
    started meanwhile: they are never starved."""

    OPENING = 0  # a final (or notice) of an answer that shows nothing yet: first and whole
    FIRST = 1  # the first visible frame of an answer (a group's first words)
    FINAL = 2  # final messages of answers partly shown (a private chat's draft, a group's
    # edited message), parts of a split answer, other calls someone awaits
    FRAME = 3  # later frames, keepalives, chat actions: coalesced, they wait for spare slots


@dataclass(frozen=True, slots=True)
class ChatPace:
    """A chat's own message budget, for budgets that pace chats too (shared.py: several
    replicas may write to one chat, e.g. the support group): ``burst`` calls, one more every
    ``period`` seconds; frames leave ``keep`` of them for the final."""

    chat_id: int
    burst: float
    period: float
    keep: float


class BotBudget(abc.ABC):
    """Decides when one call of a given priority may go, for the whole bot."""

    @abc.abstractmethod
    def reserve(
        self, priority: Priority, chat: ChatPace | None = None
    ) -> asyncio.Future[None] | None:
        """``None``: go now (one slot taken). Otherwise a future resolved when the slot is
        granted; cancel it to leave the queue (a granted slot cannot be cancelled: ``refund``
        it if it goes unused). ``chat``: the chat's budget, for budgets that share it (the
        in-process ones leave that to the chat's lane)."""

    @abc.abstractmethod
    def refund(self) -> None:
        """A slot granted by ``reserve`` was not used."""

    def sent(self) -> None:  # noqa: B027 - optional hook
        """A call made with a slot of this budget has its answer (or failed): budgets that
        count a call until Telegram answered it (window.py) count it from now on as sent."""

    def flooded(self, retry_after: float) -> None:  # noqa: B027 - optional hook
        """Telegram answered a call of this budget with 429 (``retry_after`` in seconds)."""


# A timer set for the moment the bucket holds a whole token may run a hair early, and float
# sums leave the bucket at 0.9999999999: that counts as whole, or the timer is set again for
# a hair later, and again (forever on a clock that steps exactly to its timers).
FULL_TOKEN = 1.0 - 1e-9




class LocalBudget(BotBudget):
    """A token bucket of ``burst`` calls refilled at ``rate`` per second, with a priority queue
    of waiters served by one timer (no task per waiter)."""

    def __init__(
        self, rate: float, *, burst: float = 1.0, clock: Callable[[], float] = loop_time
    ) -> None:
        self.burst = burst
        self._rate = rate
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    def rate(self, now: float) -> float:
        """Slots per second at ``now``."""
        return self._rate

    @property
    def waiting(self) -> int:
        return sum(1 for *_, f in self._queue if not f.done())

    def reserve(
        self, priority: Priority, chat: ChatPace | None = None
    ) -> asyncio.Future[None] | None:
        self._refill()
        if not self._queue and self._tokens >= FULL_TOKEN:
            self._tokens -= 1.0
            return None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (int(priority), next(self._order), future))
        self._schedule()
        return future

    def refund(self) -> None:
        self._refill()
        self._tokens = min(self.burst, self._tokens + 1.0)
        if self._queue:
            self._grant()

    def _refill(self) -> None:
        now = self._clock()
        if self._tokens < self.burst:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate(now))
        self._stamp = now

    def _schedule(self) -> None:
        if self._timer is not None or not self._queue:
            return
        rate = self.rate(self._stamp)
        delay = max(0.0, (1.0 - self._tokens) / rate) if rate > 0 else 1.0
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._grant()

    def _grant(self) -> None:
        self._refill()
        queue = self._queue
        while queue and self._tokens >= FULL_TOKEN:
            future = heapq.heappop(queue)[2]
            if future.done():  # cancelled by a lane that found other work
                continue
            self._tokens -= 1.0
            future.set_result(None)
        while queue and queue[0][2].done():
            heapq.heappop(queue)
        self._schedule()


class AdaptiveBudget(LocalBudget):
    """A budget whose rate a 429 lowers for the whole bot and that recovers slowly.

    Starts at ``rate`` (the ceiling). A 429 multiplies the current rate by ``decrease`` (not
    below ``floor``) and holds it there for the ``retry_after``; then it climbs back linearly,
    reaching the ceiling ``recovery`` seconds after a fall from the floor, as long as no other
    429 comes. The 429s of calls already in flight when the first one came (within
    ``settle`` seconds of a fall) extend the hold but do not lower the rate again.
    """

    def __init__(
        self,
        rate: float,
        *,
        floor: float,
        recovery: float,
        decrease: float = 0.5,
        settle: float = 1.0,
        name: str = "draft",
        burst: float = 1.0,
        clock: Callable[[], float] = loop_time,
    ) -> None:
        super().__init__(rate, burst=burst, clock=clock)
        self.ceiling = rate
        self.floor = min(floor, rate)
        self.decrease = decrease
        self.settle = settle
        self.name = name
        self._climb = (rate - self.floor) / recovery if recovery > 0 else float("inf")
        self._low = rate  # the rate right after the last 429 ...
        self._hold_until = 0.0  # ... kept until then, then climbing
        self._lowered = False
        self._fell_at = -float("inf")
        self._recovered: asyncio.TimerHandle | None = None

    def rate(self, now: float) -> float:
        if not self._lowered:
            return self.ceiling
        value = self._low + max(0.0, now - self._hold_until) * self._climb
        if value < self.ceiling:
            return value
        self._lowered = False
        logger.warning("bot-wide %s rate recovered to %.1f/s", self.name, self.ceiling)
        return self.ceiling

    def flooded(self, retry_after: float) -> None:
        now = self._clock()
        self._refill()
        before = self.rate(now)
        if now - self._fell_at >= self.settle:
            self._low = max(self.floor, before * self.decrease)
            self._fell_at = now
        else:  # answered to calls made before the fall: wait longer, no lower
            self._low = min(self._low, before)
        self._hold_until = max(self._hold_until, now + retry_after)
        self._lowered = True
        # Say when the ceiling is reached even if no call asks for the rate then.
        if self._recovered is not None:
            self._recovered.cancel()
        climb = (self.ceiling - self._low) / self._climb if self._climb > 0 else 0.0
        full_at = self._hold_until + climb
        self._recovered = asyncio.get_running_loop().call_later(
            max(0.0, full_at - now) + 0.01, self._check_recovered
        )
        self._tokens = min(self._tokens, 0.0)  # nothing more goes out at once
        if self._timer is not None:  # the next grant follows the new rate
            self._timer.cancel()
            self._timer = None
            self._schedule()
        logger.warning(
            "429 on a %s: bot-wide %s rate %.1f -> %.1f/s for %.1f s, then recovering",
            self.name, self.name, before, self._low, retry_after,
        )

    def _check_recovered(self) -> None:
        self._recovered = None
        self.rate(self._clock())  # logs the recovery when it is complete
