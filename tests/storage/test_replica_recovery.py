"""What several replicas rely on in the database (SQLite and PostgreSQL): one chat's part of
the durable queue, the chats a sweep must look at, recovery scoped to one chat, the answer's
row as the fencing check, and answers stored but not yet delivered."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.database import Database
from bot.storage.models import Message, MessageRole, MessageStatus, utcnow
from bot.storage.pooling import one_statement_sessions
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    IncomingUpdate,
    MessageRepository,
    UpdateRepository,
)
from bot.telegram import maintenance


def message(update_id: int, chat_id: int) -> IncomingUpdate:
    return IncomingUpdate(update_id, chat_id, f'{{"update_id": {update_id}}}')


async def _conversation(session: AsyncSession, chat_id: int) -> int:
    await ChatRepository(session).upsert(chat_id, "private")
    return (await ConversationRepository(session).current(chat_id)).id


async def _asked(database: Database, chat_id: int) -> Message:
    """A question in the chat and its answer, still streaming."""
    async with database.session() as session:
        conv = await _conversation(session, chat_id)
        messages = MessageRepository(session)
        await messages.add(conv, MessageRole.USER, "q")
        return await messages.add(conv, MessageRole.ASSISTANT, "", status=MessageStatus.STREAMING)


async def test_one_chats_queue_and_the_chats_with_old_queued_updates(database: Database) -> None:
    async with database.session() as session:
        updates = UpdateRepository(session, bot_id=1)
        await updates.claim_many([message(3, 7), message(1, 7), message(2, 8)])
        await updates.claim_many([IncomingUpdate(4)])  # not queued (a button press)
    async with database.session() as session:
        updates = UpdateRepository(session, bot_id=1)
        assert [r.update_id for r in await updates.pending(7)] == [1, 3]
        assert [r.update_id for r in await updates.pending(8)] == [2]
        assert await updates.pending(9) == []
        assert sorted(await updates.pending_ids(7)) == [1, 3]
        assert await updates.pending_ids(9) == []
        later = utcnow() + dt.timedelta(seconds=1)
        left = maintenance.chats_left_undone  # the sweep's read (no answer streams here)
        assert sorted(await left(session, 1, later)) == [7, 8]
        # Accepted just now: not old enough for the sweep yet.
        assert await left(session, 1, utcnow() - dt.timedelta(seconds=60)) == []
        await updates.settle([1, 3])
        assert await left(session, 1, later) == [8]
        assert await updates.pending_ids(7) == []
        assert await left(session, 2, later) == []


async def test_recovery_of_one_chat_leaves_the_others_streaming(database: Database) -> None:
    async with database.session() as session:
        messages = MessageRepository(session)
        answers = {}
        for chat in (7, 8):
            conv = await _conversation(session, chat)
            await messages.add(conv, MessageRole.USER, "q")
            answers[chat] = await messages.add(
                conv, MessageRole.ASSISTANT, "half", status=MessageStatus.STREAMING
            )
    async with database.session() as session:
        assert await MessageRepository(session).fail_streaming(7) == 1
    async with database.session() as session:
        messages = MessageRepository(session)
        seven = await messages.get(answers[7].id)
        eight = await messages.get(answers[8].id)
        assert seven is not None
        assert seven.status is MessageStatus.FAILED
        assert eight is not None
        assert eight.status is MessageStatus.STREAMING


async def test_an_answer_is_stored_only_while_streaming(database: Database) -> None:
    """The fencing check: once another replica marked the answer failed (to answer again),
    the replica that lost the chat cannot overwrite it."""
    answer = await _asked(database, 7)
    async with database.session() as session:
        assert await MessageRepository(session).fail_streaming(7) == 1

    async def finish(text: str) -> bool:
        async with database.session() as session:
            return await MessageRepository(session).finish_answer(
                answer.id, text=text, status=MessageStatus.COMPLETE, token_count=1,
                input_tokens=None, output_tokens=None,
            )

    assert not await finish("late")
    async with database.session() as session:
        stored = await MessageRepository(session).get(answer.id)
        assert stored is not None
        assert (stored.status, stored.text) == (MessageStatus.FAILED, "")


async def test_an_answer_not_yet_delivered_counts_as_cut_short(database: Database) -> None:
    answer = await _asked(database, 7)
    async with database.session() as session:
        assert await MessageRepository(session).finish_answer(
            answer.id, text="done", status=MessageStatus.COMPLETE, token_count=1,
            input_tokens=None, output_tokens=None, delivery_pending=True,
        )
    async with database.session() as session:
        stored = await MessageRepository(session).get(answer.id)
        assert stored is not None
        assert stored.delivery_pending is True
        assert await MessageRepository(session).mark_delivered(answer.id, [41, 42])
    async with database.session() as session:
        stored = await MessageRepository(session).get(answer.id)
        assert stored is not None
        assert (stored.delivery_pending, stored.telegram_message_ids) == (None, [41, 42])
        # Pending again (a replica died before Telegram took it): recovery clears it.
        stored.delivery_pending = True
    async with database.session() as session:
        assert await MessageRepository(session).fail_streaming(8) == 0
        assert await MessageRepository(session).fail_streaming(7) == 1
    async with database.session() as session:
        stored = await MessageRepository(session).get(answer.id)
        assert stored is not None
        assert (stored.status, stored.delivery_pending) == (MessageStatus.COMPLETE, None)


async def test_the_sweep_reads_queued_and_unfinished_chats_in_one_statement(
    database: Database,
) -> None:
    """`chats_left_undone`: chat 7 has an old queued update, chat 8 an answer streaming, chat
    9 both; each is named once, and neither kind is named before it is old enough."""
    async with database.session() as session:
        updates = UpdateRepository(session, bot_id=1)
        await updates.claim_many([message(1, 7), message(2, 9)])
    for chat in (8, 9):
        await _asked(database, chat)
    later = utcnow() + dt.timedelta(seconds=1)
    async with one_statement_sessions(database.sessionmaker)() as session:
        assert sorted(await maintenance.chats_left_undone(session, 1, later)) == [7, 8, 9]
        early = utcnow() - dt.timedelta(seconds=60)
        assert await maintenance.chats_left_undone(session, 1, early) == []
        assert sorted(await maintenance.chats_left_undone(session, 2, later)) == [8, 9]
