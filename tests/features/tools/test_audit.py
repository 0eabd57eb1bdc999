"""The audit of tool calls: /toolcalls for admins, the lines the desk card shows, and the per-tool
table of `bot report` (with its CSV)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.features.tools.audit import calls_text, stats_table, tools_csv_path, write_stats_csv
from bot.features.tools.storage.audit import ToolCallAudit
from bot.features.tools.storage.calls import NewToolCall, ToolCallRepository
from bot.features.tools.storage.models import ToolCallState
from bot.storage.database import Database
from bot.storage.models import MessageRole, MessageStatus
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    MessageRepository,
    UserRepository,
)
from tests.telegram.harness import ANNA, BORIS, Harness, running_app


async def store_calls(database: Database, user_id: int = BORIS.id) -> None:
    """Boris asked three things: a read that ran, a write he confirmed, a write he declined;
    and a read that failed."""
    async with database.session() as session:
        await UserRepository(session).upsert(user_id, "Boris")
        await ChatRepository(session).upsert(user_id, "private")
        conv = await ConversationRepository(session).current(user_id)
        messages = MessageRepository(session)
        q = await messages.add(conv.id, MessageRole.USER, "where is A-1042?",
                               author_user_id=user_id)
        a = await messages.add(conv.id, MessageRole.ASSISTANT, "", reply_to_id=q.id,
                               status=MessageStatus.STREAMING)
        repo = ToolCallRepository(session)
        rows = await repo.add_round(
            question_id=q.id, answer_id=a.id, chat_id=user_id, user_id=user_id,
            calls=[
                NewToolCall(0, 0, "order_status", {"order_id": "A-1042"}),
                NewToolCall(0, 1, "open_ticket", {"subject": "Broken kettle"}, writes=True,
                            confirm=True),
                NewToolCall(0, 2, "open_ticket", {"subject": "Again"}, writes=True,
                            confirm=True),
                NewToolCall(0, 3, "order_status", {"order_id": "B-1"}),
            ],
            confirm_ttl=dt.timedelta(minutes=10),
        )
        read, confirmed, declined, failed = rows
        await repo.finish(read.id, state=ToolCallState.DONE, outcome="ok",
                          result='{"status": "shipped"}', detail="HTTP 200", latency_ms=42)
        assert await repo.decide(confirmed.id, confirmed=True, by=user_id)
        await repo.finish(confirmed.id, state=ToolCallState.DONE, outcome="ok",
                          result="T-1", latency_ms=230)
        assert await repo.decide(declined.id, confirmed=False, by=user_id)
        await repo.finish(failed.id, state=ToolCallState.FAILED, outcome="error",
                          result="error: HTTP 500: database is down", detail="HTTP 500",
                          latency_ms=12)
        await session.commit()


@pytest.fixture
async def h(sqlite_database: Database) -> AsyncIterator[Harness]:
    async with running_app(sqlite_database, admins=[ANNA.id]) as harness:
        yield harness


async def test_admins_see_recent_calls_with_outcome_latency_and_who_decided(h: Harness) -> None:
    await h.send("/toolcalls")
    await store_calls(h.db)
    await h.send("/toolcalls")
    await h.send("/toolcalls open_ticket")
    await h.send("/toolcalls 2")
    await h.send("/toolcalls 500")
    await h.send("/toolcalls", who=BORIS)
    await h.settle()
    empty, recent, tickets, two, usage = h.texts(ANNA.id)
    assert empty == "No tool calls yet."
    lines = recent.splitlines()
    assert lines[0] == "Recent tool calls, newest first:"
    calls = lines[2:]
    assert len(calls) == 4
    assert "order_status {\"order_id\": \"B-1\"} -> failed (error, 12 ms, HTTP 500), asked by 12" \
        in calls[0]
    assert "open_ticket {\"subject\": \"Again\"} -> declined, declined by 12, asked by 12" \
        in calls[1]
    assert ("open_ticket {\"subject\": \"Broken kettle\"} -> done (ok, 230 ms), confirmed by 12"
            in calls[2])
    assert "order_status {\"order_id\": \"A-1042\"} -> done (ok, 42 ms, HTTP 200)" in calls[3]
    assert all("open_ticket" in line for line in tickets.splitlines()[2:])
    assert len(two.splitlines()[2:]) == 2
    assert usage.startswith("/toolcalls - the last 15 tool calls")
    assert h.texts(BORIS.id) == ["Это могут только администраторы бота."]


async def test_report_counts_calls_failures_and_declines_per_tool(
    sqlite_database: Database, tmp_path: Path
) -> None:
    await store_calls(sqlite_database)
    async with sqlite_database.session() as session:
        stats = await ToolCallAudit(session).stats()
    table = stats_table(stats, 7)
    assert table.splitlines() == [
        "Tools (last 7 days)",
        "  tool          calls  failed  declined  expired",
        "  open_ticket       2       0         1        0",
        "  order_status      2       1         0        0",
        "  all               4       1         1        0",
    ]
    path = tools_csv_path(tmp_path / "report.csv")
    assert path.name == "report-tools.csv"
    assert write_stats_csv(stats, path) == 2
    assert path.read_text().splitlines() == [
        "tool,calls,failures,declines,expired", "open_ticket,2,0,1,0", "order_status,2,1,0,0"]
    assert stats_table([], 3) == "Tools (last 3 days): no calls"


async def test_lines_fit_one_message(sqlite_database: Database) -> None:
    for _ in range(12):
        await store_calls(sqlite_database)
    async with sqlite_database.session() as session:
        calls = await ToolCallAudit(session).recent(160)
    text = calls_text(calls, limit=1000)
    assert len(text) <= 1000 + 20
    assert text.splitlines()[-1].endswith("more")


@pytest.mark.slow
async def test_the_desk_card_lists_the_calls_made_in_the_chat(sqlite_database: Database) -> None:
    from tests.features.desk.harness import desk_world

    await store_calls(sqlite_database, user_id=5101)
    async with desk_world(sqlite_database) as w:
        w.tg.send_user_message(5101, "/operator")
        thread = await w.wait_for(lambda: w.topic_of(5101))
        card = (await w.wait_for(lambda: w.in_topic(thread)))[0].text or ""
    section = card.split("Tool calls in this chat:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(section) == 4
    assert section[0].startswith("🔧 ")
    assert section[0].endswith('order_status {"order_id": "A-1042"} -> done (ok, 42 ms, '
                               "HTTP 200)")
    assert section[1].endswith("-> done (ok, 230 ms), confirmed by 5101")
    assert section[2].endswith("-> declined, declined by 5101")
    assert "asked by" not in card  # the card is about this one user
