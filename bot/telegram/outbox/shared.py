"""The bot-wide message budget shared by replicas through Redis (REDIS_URL).

Telegram's limits are per bot (about 30 messages in any second) and per chat (about one per
second in a private chat, 20 per minute in a group), however many processes send. So every
message or edit is admitted into the bot's rolling window in Redis (a sorted set, one Lua
script: `Coordinator.admit`, server time) and takes a token from its chat's bucket there, both
in one atomic step. As in the one-process budget (window.py), a call counts from its admission
until a second after its answer came: each replica tells Redis which of its calls were
answered and how long ago (`sent()`), so every replica together never has a 31st message
reach Telegram in any second. The telling may wait `settle_after` (0.8 of the span) for any
other call of the replica to ride with (`within`: riding.py), unless the window was full
lately: a call answered a moment ago counts for the span after its answer either way, so
telling it within the span costs no place, and most answers then cost no round trip of
their own.

Priorities hold across replicas in two ways:
- Within a replica, waiting calls form one local priority queue served by one task (the
  *pump*), in the order of budget.py's ``Priority``, first come first served within one.
- Across replicas, a lower priority may only be admitted while the window keeps
  ``headroom[priority]`` more places free (by default one for finals, two for later frames,
  none for first texts), so frames of one replica never take the places another replica's
  first texts and finals need. Calls that are not admitted wait and look again (frames with
  the newest text: the lane rebuilds them).

When Redis is unreachable the budget falls back to a local share, ``limit / replicas`` (the
replicas counted before the outage: census.py), logs it once, and checks Redis every
``retry_every`` seconds in the background; finals keep going at that share, never stalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import uuid
from collections import deque
from collections.abc import Callable, Mapping

from bot.coordination import (
    Bucket,
    CoordinationUnavailableError,
    Coordinator,
    LocalCoordinator,
    Window,
)
from bot.coordination.stopping import stop_tasks
from bot.telegram.outbox.budget import BotBudget, ChatPace, Priority

log = logging.getLogger(__name__)

HEADROOM: Mapping[Priority, int] = {
    Priority.OPENING: 0,
    Priority.FIRST: 0,
    Priority.FINAL: 1,
    Priority.FRAME: 2,
}

_Entry = tuple[int, int, asyncio.Future[None], ChatPace | None]


class SharedBudget(BotBudget):
    def __init__(
        self,
        coordinator: Coordinator,
        *,
        limit: int = 30,
        span: float = 1.0,
        name: str = "messages",
        headroom: Mapping[Priority, int] = HEADROOM,
        replicas: Callable[[], int] = lambda: 1,
        retry_every: float = 2.0,
        hold: float = 30.0,
        poll: float = 0.02,
        settle_after: float | None = None,
    ) -> None:
        """`settle_after`: how long answers may wait for an admission to carry them to Redis
        (default 0.8 of the span: within it, telling late costs no place; 0: at once)."""
        self.coordinator = coordinator
        self.limit = limit
        self.span = span
        self.name = name
        self.headroom = dict(headroom)
        self.replicas = replicas
        self.retry_every = retry_every
        self.hold = hold
        self.poll = poll
        self._tag = uuid.uuid4().hex[:12]
        self._ids = itertools.count()
        self._flying: deque[str] = deque()  # admitted here, not answered yet
        self.settle_after = 0.8 * span if settle_after is None else settle_after
        # Answered, not told to the store yet: (member, the loop's time of its answer).
        self._settle: list[tuple[str, float]] = []
        self._teller: asyncio.Task[None] | None = None  # telling answers, without an admission
        self._busy_until = 0.0  # the window was full lately: settle at once until then
        self._closed = False
        self._queue: list[_Entry] = []
        self._order = itertools.count()
        self._pump: asyncio.Task[None] | None = None
        self._nap: asyncio.Future[None] | None = None
        self._napping_for = int(Priority.FRAME) + 1
        self._fallback: LocalCoordinator | None = None  # while Redis is unreachable
        self._share = limit
        self._probe: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for entry in self._queue if not entry[2].done())

    @property
    def degraded(self) -> bool:
        """True while Redis is unreachable and this replica spends a local share."""
        return self._fallback is not None

    def reserve(
        self, priority: Priority, chat: ChatPace | None = None
    ) -> asyncio.Future[None] | None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._requeue((int(priority), next(self._order), future, chat))
        return future

    def refund(self) -> None:
        """Unused: it counts as sent (whose call it was is not known; the place is given back
        a second later, one of 30)."""
        self.sent()

    def sent(self) -> None:
        if not self._flying:
            return
        loop = asyncio.get_running_loop()
        # Any of ours: they are alike to the store.
        self._settle.append((self._flying.popleft(), loop.time()))
        if self._pump is None:
            self._tell_soon()
        elif self._nap is not None and not self._nap.done():
            self._nap.set_result(None)  # a place may be free: look again now

    def _tell_soon(self) -> None:
        """Answers with no admission to carry them: told by a call that may ride with any
        other of this replica (`settle_after`), or at once while the window was full."""
        if self._closed or self._pump is not None or not self._settle:
            return
        if self._fallback is not None:
            self._start()  # the local share: nothing to ride with, nothing to wait for
        elif self._teller is None:
            self._teller = asyncio.get_running_loop().create_task(
                self._tell(), name=f"budget-{self.name}-answers"
            )

    async def _tell(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._settle and self._pump is None and self._fallback is None:
                settle, self._settle = self._settle, []
                busy = not self.settle_after or loop.time() < self._busy_until
                try:
                    await self.coordinator.admit(
                        self._window(int(Priority.FRAME)), None,
                        settle=_aged(settle, loop.time()), hold=self.hold, poll=self.poll,
                        within=0.0 if busy else self.settle_after,
                    )
                except Exception as exc:
                    if not isinstance(exc, CoordinationUnavailableError):
                        log.exception("bot-wide %s budget: telling answers failed", self.name)
                        exc = CoordinationUnavailableError(f"{type(exc).__name__}: {exc}")
                    self._settle = settle + self._settle
                    self._degrade(exc)
                    break
        finally:
            self._teller = None
        self._tell_soon()  # degraded meanwhile: the pump tells the local share

    # -- the pump -----------------------------------------------------------------------------
    def _window(self, priority: int) -> Window:
        limit = self._share if self._fallback is not None else self.limit
        keep = min(self.headroom.get(Priority(priority), 0), limit - 1)
        return Window(self.name, limit, self.span, keep)

    @staticmethod
    def _bucket(priority: int, chat: ChatPace | None) -> Bucket | None:
        if chat is None or chat.period <= 0:
            return None
        keep = min(chat.keep, chat.burst - 1.0) if priority == Priority.FRAME else 0.0
        return Bucket(f"chat:{chat.chat_id}", 1.0 / chat.period, chat.burst, keep)

    def _start(self) -> None:
        self._pump = asyncio.get_running_loop().create_task(
            self._run(), name=f"budget-{self.name}"
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            # Answers alone are the teller's, but for the local share (no Redis to tell).
            while self._queue or (self._settle and self._fallback is not None):
                entry: _Entry | None = None
                while self._queue and entry is None:
                    entry = heapq.heappop(self._queue)
                    if entry[2].done():  # the lane left the queue
                        entry = None
                if entry is None and self._fallback is None:
                    break
                settle, self._settle = self._settle, []
                priority = entry[0] if entry is not None else int(Priority.FRAME)
                member = f"{self._tag}:{next(self._ids)}" if entry is not None else None
                store = self._fallback or self.coordinator
                try:
                    wait, short = await store.admit(
                        self._window(priority),
                        member,
                        bucket=self._bucket(priority, entry[3]) if entry is not None else None,
                        settle=_aged(settle, loop.time()),
                        hold=self.hold,
                        poll=self.poll,
                    )
                except Exception as exc:  # a dead pump would strand every waiting call
                    if not isinstance(exc, CoordinationUnavailableError):
                        # Anything else Redis may answer (a script error, a server refusing
                        # writes): the call must not be lost with the pump; spend the share.
                        log.exception("bot-wide %s budget: admission failed", self.name)
                        exc = CoordinationUnavailableError(f"{type(exc).__name__}: {exc}")
                    if entry is not None:
                        heapq.heappush(self._queue, entry)
                    self._settle = settle + self._settle
                    self._degrade(exc)
                    continue
                if entry is None:
                    continue
                future = entry[2]
                if short < 0:
                    assert member is not None
                    if future.done():  # left the queue meanwhile: the place goes back
                        self._settle.append((member, loop.time()))
                    else:
                        self._flying.append(member)
                        future.set_result(None)
                elif short == 1:  # only its chat is short: others need not wait for it
                    loop.call_later(wait, self._requeue, entry)
                else:  # the bot is short: look again then, or when something frees or matters
                    self._busy_until = loop.time() + self.span
                    heapq.heappush(self._queue, entry)
                    await self._sleep(wait, priority)
        finally:
            self._pump = None
        self._tell_soon()

    def _requeue(self, entry: _Entry) -> None:
        if entry[2].done():
            return
        heapq.heappush(self._queue, entry)
        if self._pump is None:
            self._start()
        elif entry[0] < self._napping_for and self._nap is not None and not self._nap.done():
            self._nap.set_result(None)  # a more urgent call: look again now

    async def _sleep(self, seconds: float, priority: int) -> None:
        loop = asyncio.get_running_loop()
        nap = self._nap = loop.create_future()
        self._napping_for = priority
        timer = loop.call_later(seconds, _grant, nap)
        try:
            await nap
        finally:
            timer.cancel()
            self._nap = None
            self._napping_for = int(Priority.FRAME) + 1

    # -- outage -------------------------------------------------------------------------------
    def _degrade(self, exc: CoordinationUnavailableError) -> None:
        if self._fallback is not None:
            return
        replicas = max(1, self.replicas())
        self._share = max(1, self.limit // replicas)
        self._fallback = LocalCoordinator()
        log.warning(
            "%s; bot-wide %s budget falls back to this replica's share, %d/s (1/%d)",
            exc, self.name, self._share, replicas,
        )
        self._probe = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        while True:
            await asyncio.sleep(self.retry_every)
            try:
                await self.coordinator.ping()
            except CoordinationUnavailableError:
                continue
            self._fallback = None
            self._probe = None
            log.warning("Redis reachable again: bot-wide %s budget shared again", self.name)
            return

    async def aclose(self) -> None:
        """Stop the pump and the probe; calls still waiting are cancelled. Answers not told
        to the store yet are told now (else each would hold a place for `hold` seconds)."""
        self._closed = True
        # A teller's call still waiting to ride goes when the coordinator closes.
        await stop_tasks(self._teller)
        if self._pump is None and self._settle and self._fallback is None:
            ages = _aged(self._settle, asyncio.get_running_loop().time())
            self._settle = []
            with contextlib.suppress(Exception):  # Redis away: they expire after `hold`
                await self.coordinator.admit(self._window(int(Priority.FRAME)), None,
                                             settle=ages)
        await stop_tasks(self._pump, self._probe)
        for entry in self._queue:
            entry[2].cancel()


def _aged(answered: list[tuple[str, float]], now: float) -> list[tuple[str, float]]:
    """(member, seconds since its answer) for the store, from (member, loop time)."""
    return [(member, max(0.0, now - at)) for member, at in answered]


def _grant(future: asyncio.Future[None]) -> None:
    if not future.done():  # a lane that stopped waiting leaves its token unused
        future.set_result(None)
