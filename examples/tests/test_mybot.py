"""The README's example (examples/mybot.py), tested as its developer would: its command, its
tool called by the model, its customer's plan in the prompt."""

from __future__ import annotations

import logging

import pytest

from bot import App
from bot.testing import BotTester, ScriptedModel
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
