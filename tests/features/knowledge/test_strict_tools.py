"""Tools beside a strict knowledge base: a question no document answers but a tool can (an
order's status) is answered by the tool, not refused as "not found"; "not found" stands when
no tool was called, and without tools it comes at once, with no model call."""

from __future__ import annotations

import pytest

from bot import App, ToolContext
from bot.testing import BotTester, ScriptedModel
from tests.features.knowledge.conftest import FIXTURE_KB

pytestmark = [pytest.mark.timeout(60)]
NOT_FOUND = "I could not find this in our knowledge base."
# A threshold no passage reaches: the knowledge base holds nothing on these questions.
STRICT = {"KB_PATH": str(FIXTURE_KB), "KB_MODE": "strict", "EMBEDDING_RPS": "200",
          "KB_MIN_SCORE": "0.95"}
QUESTION = "When does my order A-1042 arrive?"


def shop() -> App:
    app = App(env_file=None)

    @app.tool
    async def order_status(ctx: ToolContext, order_id: str) -> dict[str, str]:
        """Look up the status and delivery date of an order by its number."""
        return {"order_id": order_id, "status": "shipped", "delivery": "2026-06-12"}

    return app


def model() -> ScriptedModel:
    scripted = ScriptedModel(otherwise="Paris is the capital of France.")
    scripted.when("A-1042").call("order_status", order_id="A-1042").answer(
        "Your order has shipped: {result}")
    return scripted


async def test_a_question_a_tool_answers_is_not_refused_in_strict_mode() -> None:
    bot = model()
    async with BotTester(shop(), model=bot, settings=STRICT) as tester:
        reply = await tester.user("Anna").says(QUESTION)
    assert [call.name for call in reply.tool_calls] == ["order_status"]
    assert "2026-06-12" in reply.text
    assert NOT_FOUND not in reply.text
    # The knowledge base had nothing on it: the model was told to answer from tools alone.
    assert "call the tool and answer only from what it returns" in bot.asked[0].system


async def test_without_a_tool_call_strict_mode_still_answers_not_found() -> None:
    bot = model()
    async with BotTester(shop(), model=bot, settings=STRICT) as tester:
        reply = await tester.user("Anna").says("What is the capital of France?")
    assert reply.text.startswith(NOT_FOUND), "an answer from general knowledge is not shown"
    assert not any("Paris" in draft for draft in reply.drafts), "not even while it streams"
    assert reply.tool_calls == ()


async def test_without_tools_strict_mode_answers_not_found_without_a_model_call() -> None:
    bot = model()
    async with BotTester(App(env_file=None), model=bot, settings=STRICT) as tester:
        reply = await tester.user("Anna").says(QUESTION)
    assert reply.text.startswith(NOT_FOUND)
    assert bot.asked == []
