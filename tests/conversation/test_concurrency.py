"""Many turns in many chats at once on one database: no lock errors, no mixed histories."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.conversation import ChatRef, ConversationService, Speaker, TurnResult
from bot.storage.database import Database
from bot.storage.models import Conversation, Message, MessageRole, MessageStatus
from tests.fakes.yandex.server import FakeFoundationModels

CHATS = 40
TURNS = 3


def chat_of(n: int) -> ChatRef:
    # Every fourth chat is a group, so names go into prompts too.
    return ChatRef(-1000 - n, "group") if n % 4 == 0 else ChatRef(1000 + n, "private")


def question(n: int, turn: int) -> str:
    return f"chat{n} question{turn}"


@pytest.mark.slow
async def test_many_chats_at_once(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.default_chunks = 5
    fm.default_interval = 0.01  # streams overlap in time
    tasks: dict[tuple[int, int], asyncio.Task[TurnResult]] = {}
    for turn in range(TURNS):  # all turns of all chats queued at once, in order per chat
        for n in range(CHATS):
            speaker = Speaker(n, f"User{n}")
            tasks[n, turn] = asyncio.create_task(
                service.run_turn(chat_of(n), speaker, question(n, turn))
            )
    await asyncio.gather(*tasks.values())
    # The chats' turns ran side by side (what the pytest timeout bounds, not a clock here).
    assert fm.max_active_generations > 1

    for (n, turn), task in tasks.items():
        result = task.result()
        assert result.error is None, result.error
        assert result.status is MessageStatus.COMPLETE
        prefix = f"User{n}: " if chat_of(n).is_group else ""
        assert result.text == f"Echo: {prefix}{question(n, turn)}"

    # Every prompt the model saw holds one chat's messages only.
    for request in fm.requests:
        if request.path != "/foundationModels/v1/completion":
            continue
        texts = [m["text"] for m in request.json["messages"] if m["role"] != "system"]
        owners = {text.split("chat", 1)[1].split(" ", 1)[0] for text in texts}
        assert len(owners) == 1, texts

    # Each chat's history is its own, complete and in order.
    async with database.sessionmaker() as session:
        for n in range(CHATS):
            rows = list(
                await session.scalars(
                    select(Message)
                    .join(Conversation)
                    .where(Conversation.chat_id == chat_of(n).chat_id)
                    .order_by(Message.id)
                )
            )
            prefix = f"User{n}: " if chat_of(n).is_group else ""
            expected: list[tuple[MessageRole, str]] = []
            for turn in range(TURNS):
                expected.append((MessageRole.USER, question(n, turn)))
                expected.append((MessageRole.ASSISTANT, f"Echo: {prefix}{question(n, turn)}"))
            assert [(m.role, m.text) for m in rows] == expected
            assert all(m.status is MessageStatus.COMPLETE for m in rows)
    assert not any(service.is_busy(chat_of(n).chat_id) for n in range(CHATS))
