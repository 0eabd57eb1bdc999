"""What an answer's calls become once it is recorded: the App's `on_answer` hooks are told
them (made in the turn, or before the press it waited for), and an answer that made none
reads nothing back (most answers make none: no query for them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from bot import AnswerEvent, App, ToolContext
from bot.testing import BotTester, ScriptedModel


def shop() -> tuple[App, list[AnswerEvent]]:
    app = App(env_file=None)
    told: list[AnswerEvent] = []

    @app.tool
    async def order_status(ctx: ToolContext, order_id: str) -> str:
        """Look up an order."""
        return f"{order_id} has shipped"

    @app.tool(confirm=True, title="Open a ticket")
    async def open_ticket(ctx: ToolContext, subject: str) -> str:
        """Open a support ticket."""
        return "ticket T-1 opened"

    @app.on_answer
    async def answered(answer: AnswerEvent) -> None:
        told.append(answer)

    return app, told


@contextmanager
def reads_of_answer_calls(tester: BotTester) -> Iterator[list[str]]:
    """The statements that read an answer's calls back, while the block runs."""
    seen: list[str] = []
    engine = tester.built.core.db.engine.sync_engine

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT") and "tool_calls.answer_id" in sql:
            seen.append(sql)

    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)


async def test_the_hooks_are_told_the_calls_and_an_answer_without_any_reads_none() -> None:
    app, told = shop()
    model = ScriptedModel(otherwise="Hello!")
    model.when("A-7").call("order_status", order_id="A-7").answer("Order: {result}")
    model.when("broken").call("open_ticket", subject="Broken kettle").answer("Done: {result}")
    async with BotTester(app, model=model) as tester:
        anna = tester.user("Anna")
        with reads_of_answer_calls(tester) as reads:
            await anna.says("Hi there")
            await tester.settle()
        assert reads == []
        assert told[-1].answer == "Hello!"
        assert told[-1].tool_calls == ()

        with reads_of_answer_calls(tester) as reads:
            await anna.says("Where is order A-7?")
            await tester.settle()
        assert reads, "the answer's calls are read back for the hooks and the trace"
        [call] = told[-1].tool_calls
        assert (call.name, call.arguments, call.outcome) == (
            "order_status", {"order_id": "A-7"}, "ok")

        card = await anna.says("My kettle is broken")
        assert card.status == "waiting"
        done = await anna.presses("Confirm")
        await tester.settle()
        assert done.text.endswith("Done: ticket T-1 opened")
        # The answer carried on after the press made no new round: its call was stored
        # before, and the hooks are told it all the same.
        assert told[-1].answer == done.text
        assert [(c.name, c.outcome) for c in told[-1].tool_calls] == [("open_ticket", "ok")]
