"""Helpers shared by the conversation tests: what the fake model saw, what the database holds."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from bot.storage.database import Database
from bot.storage.models import Conversation, Message
from tests.fakes.yandex.server import FakeFoundationModels

COMPLETION = "/foundationModels/v1/completion"
SYSTEM = {"role": "system", "text": "You are a helpful assistant."}


def prompts(fm: FakeFoundationModels) -> list[list[dict[str, Any]]]:
    """The message lists the fake received, in order."""
    return [r.json["messages"] for r in fm.requests if r.path == COMPLETION]


def user(text: str) -> dict[str, str]:
    return {"role": "user", "text": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "text": text}


async def stored(db: Database, chat_id: int | None = None) -> list[Message]:
    async with db.sessionmaker() as session:
        query = select(Message).join(Conversation).order_by(Message.id)
        if chat_id is not None:
            query = query.where(Conversation.chat_id == chat_id)
        return list(await session.scalars(query))


async def wait_for(condition: Any, seconds: float = 5.0) -> None:
    """Poll `condition` until it holds (fail after `seconds`)."""
    for _ in range(int(seconds / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met in time")
