"""The README's example (examples/mybot.py), tested as its developer would: its command, its
tool called by the model, its customer's plan in the prompt."""

from __future__ import annotations

import logging

import pytest

from bot import App
from bot.testing import BotTester, ScriptedModel, ServiceModel
from examples import mybot


@pytest.fixture
def fmbot_app() -> App:
    return mybot.app


async def test_ping_answers_pong(bot_tester: BotTester) -> None:
    reply = await bot_tester.user("Anna").says("/ping")
    assert reply.text == "pong"


async def test_the_model_looks_the_order_up(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mybot")
    model = ScriptedModel()
    model.when("A-7").call("order_status", order_id="A-7").answer("Order A-7 has shipped.")
    async with BotTester(mybot.app, model=model) as tester:
        anna = tester.user("Anna")
        reply = await anna.says("Where is A-7?")
    assert reply.text == "Order A-7 has shipped."
    (call,) = reply.tool_calls
    assert call.name == "order_status"
    assert "2026-11-27" in call.result
    system = model.asked[0].system
    assert f"The customer {anna.id} is on the Gold plan." in system
    # The on_answer hook logged the answer.
    assert f"answered {anna.id}: Order A-7 has shipped." in caplog.messages


async def test_a_refused_request_is_retried_and_a_broken_answer_is_told() -> None:
    """The kit's model service misbehaving once: a 429 (fmbot retries it), then a stream cut
    off mid-answer (the user is told; nothing pretends the answer was whole)."""
    model = ServiceModel()  # answers "Echo: <question>" when nothing is scripted
    async with BotTester(mybot.app, model=model) as tester:
        anna = tester.user("Anna")
        model.fail_next(429, retry_after=0)
        assert (await anna.says("Hello there")).text == "Echo: Hello there"
        asked = [r for r in model.service.requests if r.path.endswith("/completion")]
        assert [r.status for r in asked] == [429, 200]
        model.break_next("cut")
        broken = await anna.says("Tell me more")
    assert broken.status == "failed"
    assert broken.text != "Echo: Tell me more"


async def test_a_minute_later_anna_is_answered_again() -> None:
    """docs/testing.md's example: the per-user rate limit waited out on the tester's virtual
    clock, in no wall time."""
    async with BotTester(mybot.app, settings={"RATE_LIMIT_PER_MINUTE": 1}) as tester:
        anna = tester.user("Anna")
        first = await anna.says("hello")
        assert "too fast" not in first.text
        assert "too fast" in (await anna.says("hello")).text
        await tester.advance(61)  # no wall time
        assert "too fast" not in (await anna.says("hello")).text
