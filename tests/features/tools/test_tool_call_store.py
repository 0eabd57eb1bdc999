"""Stored tool calls: keys, atomic presses, expiry, retries and resumes, erasure, audit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from bot.features.tools.storage.audit import ToolCallAudit
from bot.features.tools.storage.calls import NewToolCall, ToolCallRepository
from bot.features.tools.storage.models import ToolCall, ToolCallState
from bot.storage.database import Database
from bot.storage.models import MessageRole, MessageStatus, utcnow
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    MessageRepository,
    PrivacyRepository,
    UserRepository,
)

ANN = 11


async def _turn(database: Database) -> tuple[int, int]:
    async with database.session() as session:
        await UserRepository(session).upsert(ANN, "Ann")
        await ChatRepository(session).upsert(ANN, "private")
        conv = await ConversationRepository(session).current(ANN)
        messages = MessageRepository(session)
        q = await messages.add(conv.id, MessageRole.USER, "where is A-1", author_user_id=ANN)
        a = await messages.add(
            conv.id, MessageRole.ASSISTANT, "", reply_to_id=q.id, status=MessageStatus.STREAMING
        )
        return q.id, a.id


def _calls() -> list[NewToolCall]:
    return [
        NewToolCall(0, 0, "order_status", {"order_id": "A-1"}, preface="Let me look."),
        NewToolCall(0, 1, "open_ticket", {"n": 5.0}, call_id="chatcmpl-tool-1", writes=True,
                    confirm=True),
    ]


async def _store(database: Database, q: int, a: int, ttl: float = 600) -> list[int]:
    async with database.session() as session:
        rows = await ToolCallRepository(session).add_round(
            question_id=q, answer_id=a, chat_id=ANN, user_id=ANN, calls=_calls(),
            confirm_ttl=dt.timedelta(seconds=ttl),
        )
        return [row.id for row in rows]


async def test_a_round_is_stored_in_order_with_stable_distinct_keys(database: Database) -> None:
    q, a = await _turn(database)
    ids = await _store(database, q, a)
    async with database.session() as session:
        calls = await ToolCallRepository(session).for_answer(a)
    assert [c.id for c in calls] == ids
    read, write = calls
    assert read.state is ToolCallState.PENDING
    assert read.preface == "Let me look."
    assert write.state is ToolCallState.PENDING_CONFIRMATION
    assert write.expires_at is not None
    assert write.arguments == {"n": 5.0}
    assert write.call_id == "chatcmpl-tool-1"
    assert read.idempotency_key != write.idempotency_key
    assert write.idempotency_key.startswith("fmbot-")
    assert len(write.idempotency_key) <= 64


async def test_a_press_moves_the_call_once(database: Database) -> None:
    q, a = await _turn(database)
    _, write = await _store(database, q, a)
    async with database.session() as session:
        repo = ToolCallRepository(session)
        assert await repo.decide(write, confirmed=True, by=ANN)
        assert not await repo.decide(write, confirmed=True, by=ANN)
        assert not await repo.decide(write, confirmed=False, by=ANN)
    async with database.session() as session:
        row = await ToolCallRepository(session).get(write)
        assert row is not None
        assert row.state is ToolCallState.CONFIRMED
        assert row.decided_by == ANN


async def test_a_late_press_finds_the_call_expired(database: Database) -> None:
    q, a = await _turn(database)
    _, write = await _store(database, q, a, ttl=60)
    later = utcnow() + dt.timedelta(seconds=61)
    async with database.session() as session:
        repo = ToolCallRepository(session)
        assert not await repo.decide(write, confirmed=True, by=ANN, now=later)
        expired = await repo.expire(later)
    assert [row.id for row in expired] == [write]
    assert expired[0].state is ToolCallState.EXPIRED


async def test_a_new_message_declines_what_waits(database: Database) -> None:
    q, a = await _turn(database)
    _, write = await _store(database, q, a)
    async with database.session() as session:
        declined = await ToolCallRepository(session).decline_waiting(ANN, by=ANN,
                                                                     text="declined")
    async with database.session() as session:
        row = await ToolCallRepository(session).get(write)
    assert declined.answers == [a]
    assert declined.cards == []  # no card was noted for it
    assert row is not None
    assert row.state is ToolCallState.DECLINED
    assert row.result == "declined"


async def test_retry_detaches_and_resume_moves_the_calls(database: Database) -> None:
    q, a = await _turn(database)
    await _store(database, q, a)
    async with database.session() as session:
        conv = await ConversationRepository(session).current(ANN)
        b = await MessageRepository(session).add(conv.id, MessageRole.ASSISTANT, "",
                                                 reply_to_id=q)
        repo = ToolCallRepository(session)
        carried = [call.id for call in await repo.for_answer(a)]  # as a resume releases them
        assert len(carried) == 2
        await repo.attach(carried, b.id)
        assert len(await repo.for_answer(b.id)) == 2
        assert await repo.detach(b.id) == 2
        assert await repo.for_answer(b.id) == []
        states = set(await session.scalars(select(ToolCall.state)))
    # Detached calls stay for the audit; the one waiting for a press is declined.
    assert states == {ToolCallState.PENDING, ToolCallState.DECLINED}


async def test_forget_deletes_the_calls_with_the_question(database: Database) -> None:
    q, a = await _turn(database)
    await _store(database, q, a)
    async with database.session() as session:
        await PrivacyRepository(session).forget_user(ANN)
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(ToolCall)) == 0


async def test_audit_counts_per_tool(database: Database) -> None:
    q, a = await _turn(database)
    read, write = await _store(database, q, a)
    async with database.session() as session:
        repo = ToolCallRepository(session)
        await repo.start([read])
        await repo.finish(read, state=ToolCallState.FAILED, outcome="error",
                          result="error: HTTP 500: boom", detail="500", latency_ms=12)
        await repo.decide(write, confirmed=False, by=ANN)
    async with database.session() as session:
        audit = ToolCallAudit(session)
        stats = {s.name: s for s in await audit.stats()}
        recent = await audit.recent(10)
        mine = await audit.for_chat(ANN)
    assert stats["order_status"].calls == 1
    assert stats["order_status"].failures == 1
    assert stats["open_ticket"].declines == 1
    assert [c.id for c in recent] == [write, read]
    assert [c.id for c in mine] == [read, write]
    assert recent[1].result_digest is not None
    assert recent[1].latency_ms == 12


async def test_retention_deletes_the_calls_of_old_questions(database: Database) -> None:
    q, a = await _turn(database)
    await _store(database, q, a)
    async with database.session() as session:
        await PrivacyRepository(session).purge_older_than(
            1, now=utcnow() + dt.timedelta(days=2)
        )
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(ToolCall)) == 0


async def test_whether_an_answer_replies_to_the_last_question(database: Database) -> None:
    _, a = await _turn(database)
    async with database.session() as session:
        assert await ToolCallRepository(session).answers_last_question(a)
        conv = await ConversationRepository(session).current(ANN)
        await MessageRepository(session).add(conv.id, MessageRole.USER, "a newer question")
    async with database.session() as session:
        assert not await ToolCallRepository(session).answers_last_question(a)
