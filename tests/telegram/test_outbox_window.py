"""The bot-wide message budget never admits a 31st message into any rolling second (in one
process and shared by replicas through the real Redis), and a group's first words go ahead of
a burst of private chats' finals."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from aiogram.methods import SendMessage

from bot.coordination.redisstore import RedisCoordinator
from bot.telegram.outbox import Outbox
from bot.telegram.outbox.budget import BotBudget, Priority
from bot.telegram.outbox.shared import SharedBudget
from bot.telegram.outbox.window import WindowBudget
from bot.testing.telegram.flood import FloodLimits, loop_clock
from bot.testing.telegram.session import FakeTelegram
from tests.telegram.test_outbox import GROUP, PRIVATE, setup

# Pacing on looptime's virtual clock: exact, and the same on a busy machine.
pytestmark = pytest.mark.looptime


def most_in_any_window(times: Sequence[float], span: float) -> int:
    """The most of ``times`` that fall into one window [t, t + span)."""
    ordered, most, start = sorted(times), 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - span:
            start += 1
        most = max(most, end - start + 1)
    return most


async def arrivals(
    budget: BotBudget, calls: int, rng: random.Random, priorities: Sequence[Priority]
) -> list[float]:
    """Make ``calls`` calls through ``budget`` at once: each reaches "Telegram" at a random
    moment between its grant and its answer (a pooled connection, a busy loop), and is answered
    0-40 ms after its grant. The moments they reached Telegram."""
    reached: list[float] = []

    async def one(priority: Priority) -> None:
        grant = budget.reserve(priority)
        if grant is not None:
            await grant
        granted = loop_clock()
        answer = rng.uniform(0.0, 0.04)
        reached.append(granted + rng.uniform(0.0, answer))
        await asyncio.sleep(answer)
        budget.sent()

    await asyncio.gather(*(one(priorities[n % len(priorities)]) for n in range(calls)))
    return reached


async def test_the_budget_never_admits_a_31st_message_into_any_rolling_second() -> None:
    budget = WindowBudget(30, 0.25)  # a second shrunk four times
    rng = random.Random(23)
    reached = await arrivals(budget, 150, rng, list(Priority))
    assert len(reached) == 150
    assert most_in_any_window(reached, 0.25) == 30  # full use of the window, never more


async def test_the_outbox_default_budget_sends_30_in_any_second_and_never_31() -> None:
    """Sixty private chats finish at once through an Outbox built with its defaults; Telegram
    (the kit's, with Telegram's limits) sees at most 30 messages in any second. (The token
    bucket of 30 a second with a burst of 5 this replaced let 35 through.)"""
    telegram = FakeTelegram()
    telegram.flood.limits = FloodLimits()
    outbox = Outbox(telegram.make_bot())
    chats = [PRIVATE + n for n in range(60)]
    for chat in chats:
        telegram.chat(chat)
    await asyncio.gather(
        *(outbox.send_text(chat, f"answer {chat}", chat_type="private") for chat in chats)
    )
    sent = [r.at for r in telegram.sent if r.method == "sendMessage"]
    assert len(sent) == 60
    assert most_in_any_window(sent, 1.0) == 30
    assert telegram.flood.refused == []
    await outbox.aclose()


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


@pytest.mark.looptime(False)  # real Redis round trips: a virtual clock would skip past them
@pytest.mark.slow
async def test_replicas_sharing_the_budget_through_redis_never_admit_a_31st(
    coordinators: Make,
) -> None:
    """Three replicas' budgets on one Redis, 60 calls each at once."""
    budgets = [SharedBudget(coordinators(), limit=30, span=0.5) for _ in range(3)]
    rng = random.Random(7)
    # First texts keep no headroom, finals one, frames two: all three may fill the window.
    kinds = [Priority.OPENING, Priority.FIRST]
    reached = [r for got in await asyncio.gather(
        *(arrivals(budget, 60, rng, kinds) for budget in budgets)
    ) for r in got]
    # All 180 got through (a budget that hoarded slots would hang into the test's timeout);
    # how fast is the virtual-clock tests' to say, where a busy machine does not weigh.
    assert len(reached) == 180
    assert most_in_any_window(reached, 0.5) <= 30
    for budget in budgets:
        await budget.aclose()


async def test_a_groups_first_words_go_ahead_of_a_burst_of_private_finals() -> None:
    """Twenty private chats finish at once while the bot-wide budget sends one message per
    scaled 0.1 s: their finals queue (about 2 s; their whole text shows as a draft meanwhile).
    A group's answer starts then: its first text goes with the next free slot, not after the
    queued finals. The rule (budget.py's ``Priority``): a chat that shows nothing yet first."""
    outbox, telegram = setup(global_rate=10, global_window=0.1, final_preview=False)
    privates = [outbox.stream(PRIVATE + n, "private", draft=True) for n in range(20)]
    for n, handle in enumerate(privates):
        handle.update(f"private answer {n} so far")
    await asyncio.sleep(0.3)  # their drafts are out
    finals = [
        asyncio.create_task(handle.finish(f"private answer {n}, whole"))
        for n, handle in enumerate(privates)
    ]
    await asyncio.sleep(0.15)  # the finals queue for the bot-wide budget
    group = outbox.stream(GROUP, "supergroup", draft=False)
    group.update("the group's first words")
    while not [  # noqa: ASYNC110 - what the fake records
        c for c in telegram.calls(SendMessage) if c.chat_id == GROUP
    ]:
        await asyncio.sleep(0.01)
    sent = [c.chat_id for c in telegram.calls(SendMessage)]
    ahead = sent.index(GROUP)
    assert ahead <= 4, sent  # a slot or two after it asked, not behind the 20 finals
    await asyncio.gather(*finals)
    await group.finish("the group's answer")
    await outbox.aclose()
    assert telegram.flood.refused == []
