"""What the App's added parts leave in the database."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Message


async def record_context(session: AsyncSession, message_id: int, providers: Sequence[str]) -> None:
    """Note which context providers' text went into an answer's prompt."""
    await session.execute(
        update(Message).where(Message.id == message_id).values(context_providers=list(providers))
    )
