"""A chat's traffic as the bot produces it; run in-process or as a separate writer process.

python tests/storage/workload.py URL TURNS CHAT_ID [CHAT_ID ...]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from bot.storage.database import Database
from bot.storage.models import MessageRole, MessageStatus
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    MessageRepository,
    UpdateRepository,
    UsageRepository,
    UserRepository,
)

DAY = dt.date(2026, 11, 22)
HOT_USER = 0  # every turn also charges this one row, so writers collide on it


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


async def main(url: str, turns: int, chats: list[int]) -> None:
    db = Database(url)
    try:
        await asyncio.gather(*(chat_session(db, chat_id, turns) for chat_id in chats))
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), [int(c) for c in sys.argv[3:]]))
