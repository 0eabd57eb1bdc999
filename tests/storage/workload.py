"""A chat's traffic as the bot produces it; run in-process or as a separate writer process.

python tests/storage/workload.py URL TURNS CHAT_ID [CHAT_ID ...]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

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

DAY = dt.date(2026, 11, 22)
HOT_USER = 0  # every turn also charges this one row, so writers collide on it
TURNS = 5  # the turns of each chat in the concurrency tests


async def chat_session(db: Database, chat_id: int, turns: int) -> None:
    for turn in range(turns):
        # One unit of work per incoming update, as the Telegram layer does it.
        async with db.session() as session:
            assert await UpdateRepository(session).claim(chat_id * 1000 + turn)
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
                answer.id, text=f"{chat_id}:a{turn}", status=MessageStatus.COMPLETE, token_count=5
            )
            await UsageRepository(session).add(chat_id, DAY, tokens=8)
            await UsageRepository(session).add(HOT_USER, DAY, tokens=8)
        async with db.read_session() as session:
            window = await MessageRepository(session).recent_for_prompt(conversation.id, 10_000)
            assert all(e.text.startswith(f"{chat_id}:") for e in window)



async def check_writes(url: str, chats: list[int]) -> None:
    """Every chat's TURNS turns stored whole and in order, and the usage they charged."""
    db = Database(url)
    try:
        async with db.read_session() as session:
            rows = (
                await session.execute(select(Message.text, Message.status).order_by(Message.id))
            ).all()
            totals = await UsageRepository(session).totals(DAY)
            hot = await UsageRepository(session).for_user(HOT_USER, DAY)
    finally:
        await db.dispose()
    assert len(rows) == len(chats) * TURNS * 2
    assert all(status is MessageStatus.COMPLETE for _, status in rows)
    for chat_id in chats:
        mine = [text for text, _ in rows if text.startswith(f"{chat_id}:")]
        expected = [f"{chat_id}:{kind}{t}" for t in range(TURNS) for kind in ("q", "a")]
        assert mine == expected  # in order, complete, nothing from another chat
    assert hot == UsageCount(tokens=8 * TURNS * len(chats))
    assert totals == UsageCount(tokens=2 * 8 * TURNS * len(chats))


async def main(url: str, turns: int, chats: list[int]) -> None:
    db = Database(url)
    try:
        await asyncio.gather(*(chat_session(db, chat_id, turns) for chat_id in chats))
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), [int(c) for c in sys.argv[3:]]))
