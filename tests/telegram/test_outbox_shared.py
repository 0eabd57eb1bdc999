"""The message budget shared through the real Redis: outboxes of several "replicas" sending to
one Telegram (the kit's fake, which answers 429 past the bot-wide and per-chat limits) stay
within the limits together; finals keep their priority across replicas; an outage falls back
to a local share and recovers; a draft 429 lowers every replica's draft rate."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from bot.coordination import LocalCoordinator
from bot.coordination.redisstore import RedisCoordinator, connect
from bot.telegram.outbox import Outbox, Pacing
from bot.telegram.outbox.budget import AdaptiveBudget, ChatPace, Priority
from bot.telegram.outbox.shared import HEADROOM, SharedBudget
from bot.telegram.outbox.shareddrafts import SIGNAL, SharedAdaptiveBudget
from bot.testing.telegram.flood import FloodLimits
from bot.testing.telegram.session import FakeTelegram
from tests.coordination.proxy import TcpProxy
from tests.telegram.budget_order import SERVED, served_order

SCALE = 0.25

Make = Callable[[], RedisCoordinator]


@pytest.fixture
async def coordinators(redis_url: str, redis_prefix: str) -> AsyncIterator[Make]:
    made: list[RedisCoordinator] = []

    def make() -> RedisCoordinator:
        made.append(RedisCoordinator.from_url(redis_url, prefix=redis_prefix))
        return made[-1]

    yield make
    for coordinator in made:
        await coordinator.aclose()


def shared_telegram(chats: range) -> FakeTelegram:
    """One Telegram for every replica, its limits scaled as the outboxes' pacing; the chats
    have written to the bot."""
    telegram = FakeTelegram()
    telegram.flood.limits = FloodLimits.scaled(SCALE)
    for chat in chats:
        telegram.chat(chat)
    return telegram


def outbox_for(telegram: FakeTelegram, budget: SharedBudget | None) -> Outbox:
    """A replica's outbox: its own session and bot, on the one Telegram's state."""
    return Outbox(
        FakeTelegram(telegram.state).make_bot(),
        Pacing(
            private_interval=1.05 * SCALE, group_interval=3.6 * SCALE, global_rate=27 / SCALE,
            global_window=SCALE, retry_after_scale=SCALE, backoff=0.01,
        ),
        message_budget=budget,
    )


async def send_everything(outboxes: list[Outbox], chats: range, per_chat: int) -> float:
    started = time.monotonic()
    await asyncio.gather(
        *(
            outbox.send_text(chat, f"{n} from {i} to {chat}", chat_type="private")
            for n in range(per_chat)
            for i, outbox in enumerate(outboxes)
            for chat in chats
        )
    )
    return time.monotonic() - started


@pytest.mark.slow
async def test_three_replicas_never_exceed_the_limits_together(coordinators: Make) -> None:
    chats = range(1, 21)  # each replica writes to the same 20 chats
    telegram = shared_telegram(chats)
    budgets = [SharedBudget(coordinators(), limit=27, span=SCALE) for _ in range(3)]
    outboxes = [outbox_for(telegram, budget) for budget in budgets]
    elapsed = await send_everything(outboxes, chats, per_chat=2)
    assert telegram.flood.refused == []
    assert sum(len(telegram.chat(chat).bot_messages) for chat in chats) == 120
    # 120 messages, 27 in any 0.25 s, need >= 0.9 s (faster would have broken the limit; that
    # all of them arrived at all is the liveness, whatever the machine's load).
    assert elapsed > 0.9
    for outbox, budget in zip(outboxes, budgets, strict=True):
        await outbox.aclose()
        await budget.aclose()


@pytest.mark.slow
async def test_the_same_load_with_budgets_per_replica_trips_the_limits() -> None:
    """The control: what the shared budget prevents (so the test above can fail)."""
    telegram = shared_telegram(range(1, 21))
    outboxes = [outbox_for(telegram, None) for _ in range(3)]
    await send_everything(outboxes, range(1, 21), per_chat=2)
    # Both limits tripped (and, after a 429, calls inside its penalty window refused too).
    kinds = {refusal.kind for refusal in telegram.flood.refused}
    assert kinds - {"penalty"} == {"global", "chat"}
    for outbox in outboxes:
        await outbox.aclose()


class CountedBudget(SharedBudget):
    """The shared budget, counting the times its pump waited for a place in the window: the
    finals that went at once and those that waited, whatever the machine's speed."""

    naps = 0

    async def _sleep(self, seconds: float, priority: int) -> None:
        self.naps += 1
        await super()._sleep(seconds, priority)


class FlooredPair:
    """A replica flooding frames into a window of 10 in 0.5 s and another sending finals into
    it, on a store of their own (a key prefix)."""

    def __init__(self, redis_url: str, prefix: str, *, headroom: bool) -> None:
        kept = HEADROOM if headroom else dict.fromkeys(Priority, 0)
        self.stores = [RedisCoordinator.from_url(redis_url, prefix=prefix) for _ in range(2)]
        self.framer = SharedBudget(self.stores[0], limit=10, span=0.5, headroom=kept)
        self.finisher = CountedBudget(self.stores[1], limit=10, span=0.5)
        self.frames = 0
        self._stop = asyncio.Event()
        self._flooders: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._flooders = [asyncio.create_task(self._flood(chat)) for chat in range(1, 6)]

    async def _flood(self, chat: int) -> None:
        while not self._stop.is_set():
            grant = self.framer.reserve(Priority.FRAME, ChatPace(chat, 100.0, 0.001, 1.0))
            assert grant is not None
            await grant
            self.framer.sent()
            self.frames += 1

    async def final(self, n: int) -> None:
        grant = self.finisher.reserve(Priority.FINAL, ChatPace(100 + n, 3.0, 1.0, 1.0))
        assert grant is not None
        await grant
        self.finisher.sent()

    async def aclose(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._flooders)
        for budget in (self.framer, self.finisher):
            await budget.aclose()
        for store in self.stores:
            await store.aclose()


@pytest.mark.slow
async def test_frames_of_one_replica_leave_room_for_finals_of_another(
    redis_url: str, redis_prefix: str
) -> None:
    """With the frames' headroom a final goes at once; without it (the control, run at the
    same time on a store of its own) it waits for a place in the window to free. Counted as
    the waits of the finals' budget, not timed, so a busy machine cannot tip it."""
    kept = FlooredPair(redis_url, redis_prefix + "kept:", headroom=True)
    full = FlooredPair(redis_url, redis_prefix + "full:", headroom=False)
    kept.start()
    full.start()
    await asyncio.sleep(0.3)  # the frames have filled both windows (as far as they may)
    for n in range(12):
        await asyncio.gather(kept.final(n), full.final(n))
        await asyncio.sleep(0.15)  # finals at ~6/s, frames free to take the rest
    await kept.aclose()
    await full.aclose()
    assert kept.finisher.naps == 0  # every final found its place at once
    assert full.finisher.naps > 0  # the control: without the headroom, finals wait
    # ... and the frames got the rest of the budget: 20/s less the finals, for ~2 s.
    assert kept.frames > 12
    assert full.frames > 12


@pytest.mark.slow
async def test_outage_falls_back_to_a_local_share_and_recovers(
    proxy: TcpProxy, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    coordinator = RedisCoordinator(
        connect(f"redis://127.0.0.1:{proxy.port}/0", timeout=0.3), prefix=redis_prefix
    )
    budget = CountedBudget(coordinator, limit=20, replicas=lambda: 4, retry_every=0.2)

    async def finals(count: int) -> tuple[int, float]:
        """The pump's waits and the seconds taken for `count` finals, one after another."""
        naps, started = budget.naps, time.monotonic()
        for _ in range(count):
            grant = budget.reserve(Priority.FINAL)
            assert grant is not None
            await asyncio.wait_for(grant, 30)  # never stranded
            budget.sent()
        return budget.naps - naps, time.monotonic() - started

    assert (await finals(5))[0] == 0  # shared: 20 in any second, none waited
    assert not budget.degraded
    await proxy.stop()
    caplog.set_level(logging.WARNING, "bot.telegram.outbox.shared")
    # found out within the timeout and redis-py's retries: granted, never stalled
    assert (await finals(1))[0] == 0
    assert budget.degraded
    # A quarter of the window (4 replicas were known): 5 in any second, one of them kept for
    # first texts; so after the one above 3 more go at once and the 4 after them wait for the
    # window to move on (a second after the first: a busy machine only makes it later).
    naps, took = await finals(7)
    assert naps >= 1
    assert took >= 0.8
    fallbacks = [r for r in caplog.records if "falls back" in r.getMessage()]
    assert len(fallbacks) == 1  # logged once
    assert "Redis unreachable" in fallbacks[0].getMessage()
    await proxy.start()
    for _ in range(50):
        if not budget.degraded:
            break
        await asyncio.sleep(0.1)
    assert not budget.degraded
    assert any("shared again" in r.getMessage() for r in caplog.records)
    assert (await finals(5))[0] == 0  # the whole window again (a quarter would make one wait)
    await budget.aclose()
    await coordinator.aclose()


async def test_within_a_replica_finals_then_first_frames_then_frames() -> None:
    """The local queue in front of the shared bucket (here in-process: the order is the
    budget's, whatever the store)."""
    budget = SharedBudget(LocalCoordinator(), limit=1, span=0.05)
    started = time.monotonic()
    assert await served_order(budget) == SERVED
    assert time.monotonic() - started >= 0.3  # one at a time, each 50 ms after the last
    await budget.aclose()


async def test_a_draft_429_on_one_replica_lowers_every_replicas_draft_rate(
    coordinators: Make,
) -> None:
    a = SharedAdaptiveBudget(coordinators(), 100.0, floor=5.0, recovery=60.0, every=0.1)
    b = SharedAdaptiveBudget(coordinators(), 100.0, floor=5.0, recovery=60.0, every=0.1)
    alone = AdaptiveBudget(100.0, floor=5.0, recovery=60.0)  # not sharing: the control
    for budget in (a, b):
        budget.start()
    a.flooded(retry_after=2.0)
    assert a.rate(time.monotonic()) == 50.0
    for _ in range(20):
        if b.rate(time.monotonic()) < 100.0:
            break
        await asyncio.sleep(0.05)
    assert b.rate(time.monotonic()) == 50.0  # lowered as if the 429 had been its own
    assert alone.rate(time.monotonic()) == 100.0
    await asyncio.sleep(0.3)  # a's own signal, read back, does not lower it again
    assert a.rate(time.monotonic()) == 50.0
    for budget in (a, b):
        await budget.aclose()


async def test_a_draft_429_reaches_the_other_replicas_on_the_channel_without_polling(
    coordinators: Make,
) -> None:
    a = SharedAdaptiveBudget(coordinators(), 100.0, floor=5.0, recovery=60.0, every=3600.0)
    b = SharedAdaptiveBudget(coordinators(), 100.0, floor=5.0, recovery=60.0, every=3600.0)
    for budget in (a, b):
        budget.start()
    probe = coordinators()
    for _ in range(100):  # until both listen ("0 0.0" is older than any signal: ignored)
        if await probe.publish(SIGNAL, "0 0.0") >= 2:
            break
        await asyncio.sleep(0.02)
    a.flooded(retry_after=2.0)
    for _ in range(100):
        if b.rate(time.monotonic()) < 100.0:
            break
        await asyncio.sleep(0.02)
    assert b.rate(time.monotonic()) == 50.0  # heard at once, an hour before its next read
    for budget in (a, b):
        await budget.aclose()


async def test_an_unexpected_redis_error_never_strands_a_waiting_call(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The bucket's key holds a string (say, an operator's mistake): the take script fails with
    # WRONGTYPE, which is not a lost connection. The call still goes, on this replica's share.
    admin = Redis.from_url(redis_url)
    await admin.set(f"{redis_prefix}window:messages", "not a window")
    coordinator = RedisCoordinator.from_url(redis_url, prefix=redis_prefix)
    budget = SharedBudget(coordinator, limit=20, replicas=lambda: 2)
    caplog.set_level(logging.WARNING, "bot.telegram.outbox.shared")
    try:
        for _ in range(3):
            grant = budget.reserve(Priority.FINAL)
            assert grant is not None
            await asyncio.wait_for(grant, 2.0)
            budget.sent()
        assert budget.degraded
        assert any("Redis failed (admit): WRONGTYPE" in r.getMessage()
                   for r in caplog.records)
    finally:
        await budget.aclose()
        await coordinator.aclose()
        await admin.delete(f"{redis_prefix}window:messages")
        await admin.aclose()
