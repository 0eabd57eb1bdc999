"""BotTester's virtual clock (bot/testing/clock.py): a wait for a timer (a 429's retry_after, the
per-user rate limit's window, the desk's relay retry) costs no wall time, `advance` lets time
pass on purpose, and `real_time=True` keeps the real clock. Each tester here says
`real_time=False`, so that FMBOT_TESTER_REAL_TIME=1 (a run in real time) leaves them as
they are. What is asserted is how far the
loop's clock jumped (`VirtualClock.skipped`), never a wall-clock window."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from aiogram.types import Chat, Message, Update

from bot import App
from bot.testing import BotTester, ScriptedModel
from bot.testing.clock import REAL_TIME_ENV, VirtualClock

pytestmark = [pytest.mark.timeout(60)]

SUPPORT = -1001234567890


def answering(text: str) -> ScriptedModel:
    model = ScriptedModel()
    model.when("hello").answer(text)
    return model


def jumped() -> float:
    clock = VirtualClock.of()
    assert clock is not None
    return clock.skipped


async def test_a_long_429_is_waited_out_on_the_virtual_clock() -> None:
    # `timeout` is on the tester's clock too: a two-minute wait needs more than the default.
    async with BotTester(App(env_file=None), model=answering("Hi there."),
                         timeout=600, real_time=False) as tester:
        anna = tester.user("Anna")
        tester.telegram.fail_next("sendMessage", 429, retry_after=120, chat_id=anna.id)
        before = jumped()
        reply = await anna.says("hello")
        assert jumped() - before > 110, "the two minutes were jumped, not slept"
    assert reply.text == "Hi there."
    assert tester.telegram.state.count_429 == 1


async def test_advance_waits_out_the_per_user_rate_limit() -> None:
    async with BotTester(App(env_file=None), model=answering("Hi there."),
                         settings={"RATE_LIMIT_PER_MINUTE": 1}, real_time=False) as tester:
        anna = tester.user("Anna")
        assert (await anna.says("hello")).text == "Hi there."
        assert "too fast" in (await anna.says("hello")).text
        before = jumped()
        await tester.advance(61)
        assert jumped() - before > 55
        assert (await anna.says("hello")).text == "Hi there.", "a minute later: answered"


async def test_a_desk_relay_is_tried_again_after_its_timer() -> None:
    settings = {"SUPPORT_CHAT_ID": str(SUPPORT), "DESK_INSIGHTS": "off"}
    async with BotTester(App(env_file=None), settings=settings, real_time=False) as tester:
        anna, olga = tester.user("Anna"), tester.user("Olga")
        tester.telegram.set_member(SUPPORT, olga.id)
        await anna.says("/operator")
        [card] = [c for c in tester.sent if c.chat_id == SUPPORT and c.method == "sendMessage"]
        thread = int(card.params["message_thread_id"])
        # The outbox tries six times (backoff 0.5 s doubling), then the relay waits 30 s.
        tester.telegram.fail_next("copyMessage", 500, "Internal Server Error", times=6,
                                  chat_id=anna.id)
        chat = Chat(id=SUPPORT, type="supergroup", title="Support", is_forum=True)
        message_id = tester.telegram.next_message_id(SUPPORT)
        await tester.exchange(SUPPORT, Update(update_id=tester.next_update_id(), message=Message(
            message_id=message_id, date=dt.datetime.now(dt.UTC), chat=chat,
            from_user=olga.telegram_user(), text="A refund is on its way.",
            message_thread_id=thread, is_topic_message=True)))

        def copies() -> int:
            return sum(1 for c in tester.sent if c.chat_id == anna.id
                       and c.method == "copyMessage" and c.params["message_id"] == message_id)

        assert copies() == 6
        await tester.advance(31)
        assert copies() == 7, "the relay's second try, 30 s later"
        assert tester.telegram.chat(anna.id).messages[-1].text == "A refund is on its way."


async def test_real_time_keeps_the_real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    async with BotTester(App(env_file=None), model=answering("Hi."), real_time=True) as tester:
        assert (await tester.user().says("hello")).text == "Hi."
        clock = VirtualClock.of()
        assert clock is not None
        assert not clock.on
    monkeypatch.setenv(REAL_TIME_ENV, "1")
    assert BotTester(App(env_file=None)).real_time
    monkeypatch.setenv(REAL_TIME_ENV, "0")
    assert not BotTester(App(env_file=None)).real_time


async def test_the_clock_waits_for_threads_and_never_goes_back() -> None:
    # The only timer is the timeout around a call in a thread: the clock does not jump to it
    # while the thread works (it moves at the real pace meanwhile).
    async with BotTester(App(env_file=None), real_time=False):
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with asyncio.timeout(5):
            await asyncio.to_thread(time.sleep, 0.05)
        await asyncio.sleep(10)
        assert loop.time() - start >= 10
    assert loop.time() - start >= 10, "after the tester, the clock goes on from there"
