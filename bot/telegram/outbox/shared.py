"""The bot-wide message budget shared by replicas through Redis (REDIS_URL).

Telegram's limits are per bot (about 30 messages per second) and per chat (about one per
second in a private chat, 20 per minute in a group), however many processes send. So every
message or edit takes a token from the bot's bucket and from its chat's bucket in Redis, both
in one atomic step (`Coordinator.take_all`, server time).

Priorities hold across replicas in two ways:
- Within a replica, waiting calls form one local priority queue served by one task (the
  *pump*): finals, then first frames, then later frames, first come first served within one.
- Across replicas, a lower priority may only take a token when the shared bucket keeps
  ``headroom[priority]`` more (by default one for first frames, two for later frames), so
  frames of one replica never spend the tokens another replica's finals need. Finals reserve
  (the bucket goes into debt and they wait their turn, in arrival order across replicas);
  frames never reserve: they wait and look again, newest text first (the lane rebuilds them).

When Redis is unreachable the budget falls back to a local share, ``rate / replicas`` (the
replicas counted before the outage: census.py), logs it once, and checks Redis every
``retry_every`` seconds in the background; finals keep going at that share, never stalled.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable, Mapping

from bot.coordination import Bucket, CoordinationUnavailableError, Coordinator, LocalCoordinator
from bot.coordination.stopping import stop_tasks
from bot.telegram.outbox.budget import BotBudget, ChatPace, Priority

log = logging.getLogger(__name__)

HEADROOM: Mapping[Priority, float] = {
    Priority.FINAL: 0.0,
    Priority.FIRST: 1.0,
    Priority.FRAME: 2.0,
}

_Entry = tuple[int, int, asyncio.Future[None], ChatPace | None]


class SharedBudget(BotBudget):
    def __init__(
        self,
        coordinator: Coordinator,
        *,
        rate: float,
        burst: float,
        name: str = "messages",
        headroom: Mapping[Priority, float] = HEADROOM,
        replicas: Callable[[], int] = lambda: 1,
        retry_every: float = 2.0,
    ) -> None:
        self.coordinator = coordinator
        self.rate = rate
        self.burst = burst
        self.name = name
        # A bucket smaller than the headroom would starve frames: keep one call for them.
        self.headroom = {p: min(keep, max(0.0, burst - 1.0)) for p, keep in headroom.items()}
        self.replicas = replicas
        self.retry_every = retry_every
        self._queue: list[_Entry] = []
        self._order = itertools.count()
        self._pump: asyncio.Task[None] | None = None
        self._nap: asyncio.Future[None] | None = None
        self._napping_for = int(Priority.FRAME) + 1
        self._fallback: LocalCoordinator | None = None  # while Redis is unreachable
        self._share = rate
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
        """The token stays spent: it cannot be given back to a chat's bucket without knowing
        the chat, and one token is 1/rate of a second."""

    # -- the pump -----------------------------------------------------------------------------
    def _buckets(self, priority: int, chat: ChatPace | None, rate: float) -> list[Bucket]:
        keep = self.headroom.get(Priority(priority), 0.0)
        buckets = [Bucket(self.name, rate, self.burst, keep)]
        if chat is not None and chat.period > 0:
            frame = priority == Priority.FRAME
            buckets.append(
                Bucket(f"chat:{chat.chat_id}", 1.0 / chat.period, chat.burst,
                       min(chat.keep, chat.burst - 1.0) if frame else 0.0)
            )  # fmt: skip
        return buckets

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                entry = heapq.heappop(self._queue)
                priority, _, future, chat = entry
                if future.done():  # the lane left the queue
                    continue
                final = priority == Priority.FINAL
                store = self._fallback or self.coordinator
                rate = self._share if self._fallback is not None else self.rate
                try:
                    wait, limit = await store.take_all(
                        self._buckets(priority, chat, rate), reserve=final
                    )
                except CoordinationUnavailableError as exc:
                    heapq.heappush(self._queue, entry)
                    self._degrade(exc)
                    continue
                except Exception as exc:  # a dead pump would strand every waiting call
                    # Anything else Redis may answer (a script error, a server refusing
                    # writes): the call must not be lost with the pump; spend the local share.
                    log.exception("bot-wide %s budget: take failed", self.name)
                    heapq.heappush(self._queue, entry)
                    self._degrade(CoordinationUnavailableError(f"{type(exc).__name__}: {exc}"))
                    continue
                if wait <= 0:
                    _grant(future)
                elif final:  # reserved: the tokens are this call's once the wait is over
                    loop.call_later(wait, _grant, future)
                elif limit > 0:  # only its chat is short: others need not wait for it
                    loop.call_later(wait, self._requeue, entry)
                else:  # the bot is short: look again then, or when something more urgent comes
                    heapq.heappush(self._queue, entry)
                    await self._sleep(wait, priority)
        finally:
            self._pump = None

    def _requeue(self, entry: _Entry) -> None:
        if entry[2].done():
            return
        heapq.heappush(self._queue, entry)
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(
                self._run(), name=f"budget-{self.name}"
            )
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
        self._share = self.rate / replicas
        self._fallback = LocalCoordinator()
        log.warning(
            "%s; bot-wide %s budget falls back to this replica's share, %.1f/s (1/%d)",
            exc, self.name, self._share, replicas,
        )  # fmt: skip
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
        """Stop the pump and the probe; calls still waiting are cancelled."""
        await stop_tasks(self._pump, self._probe)
        for entry in self._queue:
            entry[2].cancel()


def _grant(future: asyncio.Future[None]) -> None:
    if not future.done():  # a lane that stopped waiting leaves its token unused
        future.set_result(None)
