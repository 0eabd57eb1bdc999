"""Many writers at once on one database: nothing locked out, nothing lost, nothing mixed.

Several `Database` objects on the same file stand in for several processes: each has its own
pool, and every aiosqlite connection is its own SQLite connection on its own thread, so they
meet at SQLite's file locks exactly as separate processes would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

from sqlalchemy import select

from bot.storage.database import Database
from bot.storage.models import Message, MessageRole, MessageStatus
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    MessageRepository,
    UpdateRepository,
    UsageCount,
    UsageRepository,
    UserRepository,
)

DATABASES = 3
CHATS_PER_DATABASE = 8
TURNS = 10
DAY = dt.date(2026, 11, 22)


async def _chat_session(db: Database, chat_id: int, update_ids: itertools.count[int]) -> None:
    for turn in range(TURNS):
        # One unit of work per incoming update, as the Telegram layer does it.
        async with db.session() as session:
            assert await UpdateRepository(session).claim(next(update_ids))
            await UserRepository(session).upsert(chat_id, f"user {chat_id}")
            await ChatRepository(session).upsert(chat_id, "private")
            conversation = await ConversationRepository(session).current(chat_id)
            question = await MessageRepository(session).add(
                conversation.id,
                MessageRole.USER,
                f"{chat_id}:q{turn}",
                author_user_id=chat_id,
                token_count=3,
            )
            answer = await MessageRepository(session).add(
                conversation.id,
                MessageRole.ASSISTANT,
                "",
                status=MessageStatus.STREAMING,
                reply_to_id=question.id,
            )
        await asyncio.sleep(0)  # the model "streams" with no transaction open
        async with db.session() as session:
            await MessageRepository(session).update(
                answer.id,
                text=f"{chat_id}:a{turn}",
                status=MessageStatus.COMPLETE,
                token_count=5,
            )
            await UsageRepository(session).add(chat_id, DAY, tokens=8)
            await UsageRepository(session).add(0, DAY, tokens=8)  # one hot row for everyone
        async with db.read_session() as session:
            window = await MessageRepository(session).recent_for_prompt(conversation.id, 10_000)
            assert all(e.text.startswith(f"{chat_id}:") for e in window)


async def test_many_writers_on_one_database(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(DATABASES)]
    update_ids = itertools.count(1)
    try:
        await asyncio.gather(
            *(
                _chat_session(db, 1000 * (d + 1) + c, update_ids)
                for d, db in enumerate(databases)
                for c in range(CHATS_PER_DATABASE)
            )
        )
        async with databases[0].read_session() as session:
            rows = (
                await session.execute(
                    select(Message.text, Message.author_user_id, Message.status).order_by(
                        Message.id
                    )
                )
            ).all()
            totals = await UsageRepository(session).totals(DAY)
            shared = await UsageRepository(session).for_user(0, DAY)
    finally:
        for db in databases:
            await db.dispose()

    chats = [1000 * (d + 1) + c for d in range(DATABASES) for c in range(CHATS_PER_DATABASE)]
    assert len(rows) == len(chats) * TURNS * 2
    assert all(status is MessageStatus.COMPLETE for _, _, status in rows)
    for chat_id in chats:
        mine = [text for text, _, _ in rows if text.startswith(f"{chat_id}:")]
        expected = [f"{chat_id}:{kind}{t}" for t in range(TURNS) for kind in ("q", "a")]
        assert mine == expected  # in order, complete, nothing from another chat
    assert shared == UsageCount(tokens=8 * TURNS * len(chats))
    assert totals == UsageCount(tokens=2 * 8 * TURNS * len(chats))
