"""The bot-wide message budget of one process: a rolling window, never a 31st message a second.

Telegram allows a bot about 30 messages per second
(https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this) and counts
them in any one second, not per calendar second and not as a bucket with a burst on top: a
token bucket of 30 a second with a burst of 5 lets 35 into one second, and the 429s pause the
chats they hit. So this budget admits a call only while fewer than ``limit`` calls count in the
window, and a call counts from its grant until ``span`` seconds after Telegram's answer came
(``sent()``), not after the grant: the request reaches Telegram somewhere between the two, so
however long it waited for a pooled connection or the event loop, no ``span`` seconds at
Telegram's side can hold more than ``limit`` of them (if 31 did, the last one granted would
have been granted while the other 30 were in flight or answered less than ``span`` before).
That costs a little throughput (a call holds its place for its round trip too: 30 per
1 s + ~5 ms at a burst's end) and keeps the promise exact.

Waiting calls are served by priority (budget.py), first come first served within one, by one
timer (no task per waiter).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Callable

from bot.clock import loop_time
from bot.telegram.outbox.budget import BotBudget, ChatPace, Priority


class WindowBudget(BotBudget):
    """At most ``limit`` calls counted in any ``span`` seconds (see the module docstring)."""

    def __init__(
        self, limit: int = 30, span: float = 1.0, *, clock: Callable[[], float] = loop_time
    ) -> None:
        if limit < 1 or span <= 0:
            raise ValueError("a window needs limit >= 1 and span > 0")
        self.limit = limit
        self.span = span
        self._clock = clock
        self._ends: deque[float] = deque()  # answered calls: when each stops counting
        self._flying = 0  # granted, not answered yet
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.Handle | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for *_, f in self._queue if not f.done())

    def used(self) -> int:
        """Calls counted in the window now (in flight, or answered less than ``span`` ago)."""
        ends, now = self._ends, self._clock()
        while ends and ends[0] <= now + 1e-6:  # a timer may run a hair early (runner.py)
            ends.popleft()
        return len(ends) + self._flying

    def reserve(
        self, priority: Priority, chat: ChatPace | None = None
    ) -> asyncio.Future[None] | None:
        if not self._queue and self.used() < self.limit:
            self._flying += 1
            return None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (int(priority), next(self._order), future))
        self._schedule()
        return future

    def refund(self) -> None:
        self._flying = max(0, self._flying - 1)
        self._grant()

    def sent(self) -> None:
        self._flying = max(0, self._flying - 1)
        self._ends.append(self._clock() + self.span)
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None or not self._queue:
            return
        if self.used() < self.limit:  # a slot is free now (a refund, a cancelled waiter)
            self._timer = asyncio.get_running_loop().call_soon(self._on_timer)
            return
        if not self._ends:  # every slot is in flight: sent() schedules again
            return
        delay = max(0.0, self._ends[0] - self._clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._grant()

    def _grant(self) -> None:
        queue = self._queue
        while queue and self.used() < self.limit:
            future = heapq.heappop(queue)[2]
            if future.done():  # cancelled by a lane that found other work
                continue
            self._flying += 1
            future.set_result(None)
        while queue and queue[0][2].done():
            heapq.heappop(queue)
        self._schedule()
