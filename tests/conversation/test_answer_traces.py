"""Every answer's trace is stored with it (issue 80): the knowledge base's search with each
passage's score against KB_MIN_SCORE, the tools offered and called, the rules that fired,
the model's tokens and times; bounded in size, and erased with the conversation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot import App, ToolContext
from bot.conversation.trace import CUT, ENTRY_LIMIT, TRACE_LIMIT, Trace
from bot.testing import BotTester, ScriptedModel, ServiceModel
from tests.features.knowledge.conftest import FIXTURE_KB, FIXTURE_MIN_SCORE
from tests.features.sending import rows

pytestmark = [pytest.mark.timeout(120)]
ASSIST = {"KB_MODE": "assist", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE), "EMBEDDING_RPS": "200"}


def shop() -> App:
    app = App(env_file=None)

    @app.tool
    async def order_status(ctx: ToolContext, order_id: str) -> dict[str, str]:
        """Look up the status and delivery date of an order by its number."""
        return {"order_id": order_id, "status": "shipped", "delivery": "2026-06-12"}

    return app


async def test_a_grounded_answer_keeps_its_passages_scores_and_model(tmp_path: Path) -> None:
    docs = tmp_path / "documents"
    shutil.copytree(FIXTURE_KB, docs)
    model = ServiceModel()
    model.service.quote_sources = True
    async with BotTester(App(env_file=None), model=model,
                         settings={**ASSIST, "KB_PATH": docs}) as tester:
        answer = await tester.user("Anna").says("How long does standard delivery take?")
    [trace] = answer.traces
    knowledge = trace["knowledge"]
    assert knowledge["search"] == "How long does standard delivery take?"
    assert knowledge["min_score"] == FIXTURE_MIN_SCORE
    best = knowledge["passages"][0]
    assert best["score"] >= FIXTURE_MIN_SCORE
    assert best["used"]
    assert best["cited"]
    assert best["document"] == "Delivery options and times"
    assert all(not p["used"] for p in knowledge["passages"] if p["score"] < FIXTURE_MIN_SCORE)
    assert trace["grounding"]["sources"][0]["cited"] is True
    model_entry = trace["model"]
    assert model_entry["status"] == "complete"
    assert model_entry["wire"] == "native"
    assert model_entry["output_tokens"] > 0
    assert 0 <= model_entry["first_words_ms"] <= model_entry["total_ms"]


async def test_tool_calls_and_the_strict_rule_are_in_the_trace() -> None:
    scripted = ScriptedModel(otherwise="Paris is the capital of France.")
    scripted.when("A-1042").call("order_status", order_id="A-1042").answer("Shipped: {result}")
    strict = {"KB_PATH": str(FIXTURE_KB), "KB_MODE": "strict", "EMBEDDING_RPS": "200",
              "KB_MIN_SCORE": "0.95"}
    async with BotTester(shop(), model=scripted, settings=strict) as tester:
        anna = tester.user("Anna")
        called = await anna.says("When does my order A-1042 arrive?")
        refused = await anna.says("What is the capital of France?")
    tools = called.traces[0]["tools"]
    assert tools["offered"] == ["order_status"]
    [call] = tools["calls"]
    assert call["name"] == "order_status"
    assert call["arguments"] == {"order_id": "A-1042"}
    assert call["outcome"] == "ok"
    assert "2026-06-12" in call["result"]
    assert call["pressed_by"] is None
    assert "a tool was called" in " ".join(called.traces[0]["grounding"]["rules"])
    rules = refused.traces[0]["grounding"]["rules"]
    assert any("not found" in rule for rule in rules)
    assert refused.traces[0]["knowledge"]["covered"] is False


async def test_forget_erases_the_traces_with_the_conversation() -> None:
    async with BotTester(App(env_file=None), model=ScriptedModel(otherwise="Hello!")) as tester:
        anna, boris = tester.user("Anna"), tester.user("Boris")
        await anna.says("Hi")
        await boris.says("Hi")
        assert len(await rows(tester, "SELECT answer_id FROM answer_traces")) == 2
        await anna.says("/forget")
        await anna.presses("Yes, delete")
        left = await rows(tester, "SELECT m.author_user_id AS asker FROM answer_traces t "
                                  "JOIN messages m ON m.id = (SELECT reply_to_id FROM messages "
                                  "WHERE id = t.answer_id)")
    assert [row["asker"] for row in left] == [boris.id]


def test_an_entry_and_the_whole_trace_are_bounded() -> None:
    trace = Trace()
    trace.add("tools", {"calls": [{"result": "x" * 100_000, "arguments": {"q": "<b>"}}]})
    entry = trace.get("tools")
    assert len(json.dumps(entry).encode()) <= ENTRY_LIMIT
    assert entry["calls"][0]["result"].endswith(CUT)
    assert entry["calls"][0]["arguments"] == {"q": "<b>"}  # data, kept as written
    for n in range(10):
        trace.add(f"feature{n}", ["y" * 3000] * 5)
    dumped = trace.dumps()
    assert len(dumped.encode()) <= TRACE_LIMIT
    assert set(json.loads(dumped)) == {"tools", *(f"feature{n}" for n in range(10))}
    trace.add("odd", {1: object()})  # not JSON: kept as its text
    assert isinstance(trace.get("odd")["1"], str)


async def test_answers_are_tagged_by_tool_document_and_not_found(tmp_path: Path) -> None:
    scripted = ScriptedModel(otherwise="Paris is the capital of France.")
    scripted.when("A-1042").call("order_status", order_id="A-1042").answer("Shipped: {result}")
    strict = {"KB_PATH": str(FIXTURE_KB), "KB_MODE": "strict", "EMBEDDING_RPS": "200",
              "KB_MIN_SCORE": "0.95"}
    async with BotTester(shop(), model=scripted, settings=strict) as tester:
        anna = tester.user("Anna")
        await anna.says("When does my order A-1042 arrive?")
        await anna.says("What is the capital of France?")
        tags = [row["tags"] for row in
                await rows(tester, "SELECT tags FROM answer_traces ORDER BY answer_id")]
    assert tags == ["\ntool:order_status\n", "\nnotfound\n"]


async def test_retention_removes_the_traces_of_what_it_removes(tmp_path: Path) -> None:
    import datetime as dt

    from bot.storage.repositories import PrivacyRepository

    async with BotTester(App(env_file=None), model=ScriptedModel(otherwise="Hello!")) as tester:
        await tester.user("Anna").says("Hi")
        assert len(await rows(tester, "SELECT answer_id FROM answer_traces")) == 1
        async with tester.built.core.db.sessionmaker() as session:
            later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
            await PrivacyRepository(session).purge_older_than(30, now=later)
            await session.commit()
        assert await rows(tester, "SELECT answer_id FROM answer_traces") == []
