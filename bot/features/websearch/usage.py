"""Web searches per user per day: the web search feature's kind of the core's daily counts
(bot/storage/repositories/counts.py), read by the WEB_SEARCHES_PER_USER_DAY limit, /stats
and `fmbot report`. One upsert per answer that searched, race-safe."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.plugin.storage import DailyCounts

#: The kind web search counts under (one per search the model ran).
WEB_SEARCHES = "web_searches"


class WebSearchUsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.counts = DailyCounts(session)

    async def add(self, user_id: int, day: dt.date, searches: int = 1) -> None:
        await self.counts.add(user_id, day, WEB_SEARCHES, searches)

    async def for_user(self, user_id: int, day: dt.date) -> int:
        return await self.counts.for_user(user_id, day, WEB_SEARCHES)

    async def total(self, day: dt.date) -> int:
        return await self.counts.total(day, WEB_SEARCHES)

    async def since(self, first_day: dt.date) -> tuple[int, int]:
        """(web searches, users who searched) from `first_day` on."""
        return await self.counts.since(first_day, WEB_SEARCHES)
