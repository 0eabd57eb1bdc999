"""Web searches per user per day (daily_usage.web_searches): the WEB_SEARCHES_PER_USER_DAY
limit, /stats and `bot report`. One upsert per answer that searched, race-safe."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import DailyUsage
from bot.storage.repositories._upsert import excluded, prebuilt


def _add(insert: Any) -> Any:
    table = DailyUsage.__table__
    stmt = insert(table).values(
        user_id=bindparam("w_user_id"), day=bindparam("w_day"), tokens=0, images=0,
        web_searches=bindparam("w_searches"),
    )
    new = excluded(stmt)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.day],
        set_={"web_searches": table.c.web_searches + new.web_searches},
    )


class WebSearchUsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user_id: int, day: dt.date, searches: int = 1) -> None:
        params = {"w_user_id": user_id, "w_day": day, "w_searches": searches}
        await self.session.execute(prebuilt(self.session, "web_search_add", _add), params)

    async def for_user(self, user_id: int, day: dt.date) -> int:
        found = await self.session.scalar(select(DailyUsage.web_searches).where(
            DailyUsage.user_id == user_id, DailyUsage.day == day))
        return int(found or 0)

    async def total(self, day: dt.date) -> int:
        found = await self.session.scalar(
            select(func.coalesce(func.sum(DailyUsage.web_searches), 0)).where(
                DailyUsage.day == day))
        return int(found or 0)

    async def since(self, first_day: dt.date) -> tuple[int, int]:
        """(web searches, users who searched) from `first_day` on."""
        row = (await self.session.execute(
            select(func.coalesce(func.sum(DailyUsage.web_searches), 0),
                   func.count(func.distinct(DailyUsage.user_id)).filter(
                       DailyUsage.web_searches > 0))
            .where(DailyUsage.day >= first_day))).one()
        return int(row[0]), int(row[1])
