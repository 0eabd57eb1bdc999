"""How many tool calls (and writes) a user has started in a window, for the per-user limits.

Counted from the stored calls, so every replica sharing the database sees the same numbers.
A call refused for a limit is stored with the detail `limit` and does not count.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.tools.storage.models import ToolCall

LIMITED = "limit"  # the detail of a call refused for a limit


class ToolLimitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def started_up_to(
        self, user_id: int, call_id: int, since: dt.datetime, *, writes: bool = False
    ) -> int:
        """Calls of `user_id` started since `since`, up to and including `call_id` (by id,
        so of two calls started together only the later one is over a limit)."""
        query = (
            select(func.count())
            .select_from(ToolCall)
            .where(
                ToolCall.user_id == user_id,
                ToolCall.id <= call_id,
                ToolCall.started_at >= since,
                or_(ToolCall.detail.is_(None), ToolCall.detail != LIMITED),
            )
        )
        if writes:
            query = query.where(ToolCall.writes.is_(True))
        return int(await self.session.scalar(query) or 0)
