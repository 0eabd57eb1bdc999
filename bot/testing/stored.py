"""What the bot stored about a chat's turns, read back for a `Reply`: the answers' statuses,
their tool calls and knowledge-base sources, as they changed during one exchange.

The tool calls and the sources are read from the `tool_calls` and `kb_answers` tables as the
schema holds them (every feature's tables are on the shared metadata once
bot/features/installed.py loaded them): the kit reports `Reply.tool_calls` and
`Reply.sources` (public, bot.extending.events) without importing the tool loop's or the
knowledge base's store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.extending.events import SourceInfo, ToolCallInfo, tool_call_outcome
from bot.features.installed import load_tables
from bot.storage.models import AnswerTrace, Base, Conversation, Message, MessageRole

# A call that never ran has no outcome; its state says why.
_UNRUN = {"declined": "declined", "expired": "expired"}
# An answer and a tool call as they stood: a change between two looks is part of the exchange.
AnswerKey = tuple[int, str, str]
CallKey = tuple[int, str, str]


@dataclass(frozen=True, slots=True)
class ChatState:
    answers: frozenset[AnswerKey]
    calls: frozenset[CallKey]


@dataclass(frozen=True, slots=True)
class Turned:
    """What changed in a chat's stored turns between two looks."""

    status: str
    sources: tuple[SourceInfo, ...]
    tool_calls: tuple[ToolCallInfo, ...]
    traces: tuple[dict[str, Any], ...] = ()


def _calls() -> Table:
    """The stored tool calls (the tool loop's table)."""
    load_tables()
    return Base.metadata.tables["tool_calls"]


async def answer_sources(session: AsyncSession, answer_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The sources the knowledge base gave these answers, in the answers' order (its
    `kb_answers` table's rows, read as the schema holds them: {"path", "title", "url",
    "cited", ...} each); none without the table."""
    load_tables()
    table = Base.metadata.tables.get("kb_answers")
    if table is None:
        return []
    rows = await session.execute(select(table.c.sources).where(
        table.c.message_id.in_(answer_ids)).order_by(table.c.message_id))
    return [source for (sources,) in rows for source in sources or []]


async def look(sessions: async_sessionmaker[AsyncSession], chat_id: int) -> ChatState:
    calls_table = _calls().c
    async with sessions() as session:
        answers = await session.execute(
            select(Message.id, Message.status, Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.chat_id == chat_id, Message.role == MessageRole.ASSISTANT)
        )
        calls = await session.execute(
            select(calls_table.id, calls_table.state, calls_table.outcome).where(
                calls_table.chat_id == chat_id
            )
        )
        return ChatState(
            frozenset((i, str(s), t or "") for i, s, t in answers),
            frozenset((i, str(s), o or "") for i, s, o in calls),
        )


async def changes(
    sessions: async_sessionmaker[AsyncSession], chat_id: int, before: ChatState
) -> Turned:
    after = await look(sessions, chat_id)
    answer_ids = sorted({key[0] for key in after.answers - before.answers})
    call_ids = sorted({key[0] for key in after.calls - before.calls})
    status = ""
    if answer_ids:
        status = next(s for i, s, _ in after.answers if i == answer_ids[-1])
    async with sessions() as session:
        sources: list[SourceInfo] = []
        traces: list[dict[str, Any]] = []
        if answer_ids:
            sources = [_source(s) for s in await answer_sources(session, answer_ids)]
            stored = await session.execute(
                select(AnswerTrace.data).where(AnswerTrace.answer_id.in_(answer_ids))
                .order_by(AnswerTrace.answer_id))
            traces = [json.loads(data) for (data,) in stored]
        calls: list[ToolCallInfo] = []
        if call_ids:
            table = _calls().c
            found = await session.execute(
                select(table.name, table.arguments, table.outcome, table.state, table.result)
                .where(table.id.in_(call_ids))
                .order_by(table.answer_id, table.round, table.position)
            )
            calls = [
                ToolCallInfo(name=c.name, arguments=dict(c.arguments or {}),
                             outcome=tool_call_outcome(c.outcome or _UNRUN.get(c.state, "")),
                             result=c.result or "")
                for c in found
            ]
    return Turned(status, tuple(sources), tuple(calls), tuple(traces))


def _source(record: dict[str, Any]) -> SourceInfo:
    return SourceInfo(
        title=str(record.get("title", "")),
        path=str(record.get("path", "")),
        url=record.get("url") or None,
        cited=bool(record.get("cited", False)),
    )
