"""Web searches counted per user a day, as /stats, the limit and `bot report` read them."""

from __future__ import annotations

import datetime as dt

from bot.features.websearch.report import web_search_stats
from bot.features.websearch.usage import WebSearchUsageRepository
from bot.storage.database import Database
from bot.storage.models import utc_today
from bot.storage.repositories import UsageRepository


async def test_searches_add_up_per_user_day_and_in_the_report(database: Database) -> None:
    today = utc_today()
    async with database.sessionmaker() as session:
        usage = WebSearchUsageRepository(session)
        await UsageRepository(session).add(1, today, tokens=40)  # a row without searches
        await usage.add(1, today)
        await usage.add(1, today, 2)
        await usage.add(2, today)
        await usage.add(3, today - dt.timedelta(days=10))
        await session.commit()
    async with database.sessionmaker() as session:
        usage = WebSearchUsageRepository(session)
        assert await usage.for_user(1, today) == 3
        assert await usage.for_user(4, today) == 0
        assert await usage.total(today) == 4
        assert (await UsageRepository(session).for_user(1, today)).tokens == 40
    assert await web_search_stats(database, 7) == (
        "Web searches in the last 7 days: 4 (for 2 users)")
    assert await web_search_stats(database, 30) == (
        "Web searches in the last 30 days: 5 (for 3 users)")
