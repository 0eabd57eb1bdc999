"""The message budget shared through the real Redis: outboxes of several "replicas" sending to
one Telegram (the simulator, which answers 429 past the bot-wide and per-chat limits) stay
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
from bot.telegram.outbox import Outbox
from bot.telegram.outbox.budget import AdaptiveBudget, ChatPace, Priority
from bot.telegram.outbox.shared import HEADROOM, SharedBudget
from bot.telegram.outbox.shareddrafts import SharedAdaptiveBudget
from tests.coordination.proxy import TcpProxy
from tests.telegram.budget_order import SERVED, served_order
from tests.telegram.recording_session import ChatSimulator, RecordingSession, make_bot

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


def outbox_for(session: RecordingSession, budget: SharedBudget | None) -> Outbox:
    return Outbox(
        make_bot(session),
        private_interval=1.05 * SCALE,
        group_interval=3.6 * SCALE,
        global_rate=27 / SCALE,
        global_window=SCALE,
        retry_after_scale=SCALE,
        backoff=0.01,
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


async def test_three_replicas_never_exceed_the_limits_together(coordinators: Make) -> None:
    sim = ChatSimulator(time_scale=SCALE, drafts=False)
    budgets = [SharedBudget(coordinators(), limit=27, span=SCALE) for _ in range(3)]
    outboxes = [outbox_for(RecordingSession(sim), budget) for budget in budgets]
    chats = range(1, 21)  # each replica writes to the same 20 chats
    elapsed = await send_everything(outboxes, chats, per_chat=2)
    assert sim.violations == []
    assert sum(len(sim.visible(chat)) for chat in chats) == 120
    # 120 messages, 27 in any 0.25 s, need >= 0.9 s (faster would have broken the limit; that
    # all of them arrived at all is the liveness, whatever the machine's load).
    assert elapsed > 0.9
    for outbox, budget in zip(outboxes, budgets, strict=True):
        await outbox.aclose()
        await budget.aclose()


async def test_the_same_load_with_budgets_per_replica_trips_the_limits() -> None:
    """The control: what the shared budget prevents (so the test above can fail)."""
    sim = ChatSimulator(time_scale=SCALE, drafts=False)
    outboxes = [outbox_for(RecordingSession(sim), None) for _ in range(3)]
    await send_everything(outboxes, range(1, 21), per_chat=2)
    kinds = {kind for kind, *_ in sim.violations}
    assert kinds == {"global", "chat"}
    for outbox in outboxes:
        await outbox.aclose()


async def uncontended_wait(budget: SharedBudget, count: int = 8) -> float:
    """The median wait for a final on an empty budget: one Redis round trip on this machine,
    now (a busy machine stretches it, and the waits compared with it, alike)."""
    waits = []
    for n in range(count):
        started = time.monotonic()
        grant = budget.reserve(Priority.FINAL, ChatPace(900 + n, 3.0, 1.0, 1.0))
        if grant is not None:
            await grant
        budget.sent()
        waits.append(time.monotonic() - started)
    return sorted(waits)[len(waits) // 2]


@pytest.mark.parametrize("headroom", [True, False])
async def test_frames_of_one_replica_leave_room_for_finals_of_another(
    coordinators: Make, redis_url: str, redis_prefix: str, headroom: bool
) -> None:
    """And without the headroom (the control) the finals wait their turn behind the frames."""
    alone = RedisCoordinator.from_url(redis_url, prefix=redis_prefix + "probe:")
    probe = SharedBudget(alone, limit=100, span=0.5)
    round_trip = await uncontended_wait(probe)
    kept = HEADROOM if headroom else dict.fromkeys(Priority, 0)
    framer = SharedBudget(coordinators(), limit=10, span=0.5, headroom=kept)
    finisher = SharedBudget(coordinators(), limit=10, span=0.5)
    frames = 0
    stop = asyncio.Event()

    async def flood_frames(chat: int) -> None:
        nonlocal frames
        while not stop.is_set():
            grant = framer.reserve(Priority.FRAME, ChatPace(chat, 100.0, 0.001, 1.0))
            assert grant is not None
            await grant
            framer.sent()
            frames += 1

    flooders = [asyncio.create_task(flood_frames(chat)) for chat in range(1, 6)]
    await asyncio.sleep(0.3)  # the frames have filled the window (as far as they may)
    waits = []
    for n in range(8):
        started = time.monotonic()
        grant = finisher.reserve(Priority.FINAL, ChatPace(100 + n, 3.0, 1.0, 1.0))
        assert grant is not None
        await grant
        finisher.sent()
        waits.append(time.monotonic() - started)
        await asyncio.sleep(0.15)  # finals at ~6/s, frames free to take the rest
    stop.set()
    await asyncio.gather(*flooders)
    # The frames left two places: a final goes at once, in about the round trip an empty
    # budget takes on this machine now, instead of waiting for a place to free (up to 50 ms:
    # 10 in 0.5 s; 25 ms on average). Both sides are measured here, so a busy machine
    # stretches them alike.
    median = sorted(waits)[len(waits) // 2]
    if headroom:
        assert median < 2 * round_trip + 0.005, (waits, round_trip)
    else:
        assert median > round_trip + 0.008, (waits, round_trip)
    # ... and the frames got the rest of the budget: 20/s less the finals, for ~1.5 s.
    assert frames > 12
    await framer.aclose()
    await finisher.aclose()
    await probe.aclose()
    await alone.aclose()


async def test_outage_falls_back_to_a_local_share_and_recovers(
    proxy: TcpProxy, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    coordinator = RedisCoordinator(
        connect(f"redis://127.0.0.1:{proxy.port}/0", timeout=0.3), prefix=redis_prefix
    )
    budget = SharedBudget(coordinator, limit=20, replicas=lambda: 4, retry_every=0.2)

    async def finals(count: int) -> float:
        started = time.monotonic()
        for _ in range(count):
            grant = budget.reserve(Priority.FINAL)
            assert grant is not None
            await grant
            budget.sent()
        return time.monotonic() - started

    assert await finals(5) < 0.4  # shared: 20 in any second
    assert not budget.degraded
    await proxy.stop()
    caplog.set_level(logging.WARNING, "bot.telegram.outbox.shared")
    started = time.monotonic()
    await finals(1)  # found out within the timeout and redis-py's retries: never stalled
    assert time.monotonic() - started < 3.0
    assert budget.degraded
    # A quarter of the window (4 replicas were known): 5 in any second, one of them kept for
    # first texts; so after the one above 3 more go at once and the 4 after them a second later.
    assert 0.8 < await finals(7) < 1.8
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
    assert await finals(5) < 0.5
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
                   for r in caplog.records)  # fmt: skip
    finally:
        await budget.aclose()
        await coordinator.aclose()
        await admin.delete(f"{redis_prefix}window:messages")
        await admin.aclose()
