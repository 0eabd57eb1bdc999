"""Web search's line of `fmbot report`: the web searches the model ran over the period, and
for how many users (WEB_SEARCH; Yandex bills each)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.features.websearch.usage import WebSearchUsageRepository
from bot.plugin.commands import ReportSection
from bot.plugin.helpers import quantity
from bot.plugin.storage import utc_today

if TYPE_CHECKING:
    from bot.plugin.commands import ReportPart
    from bot.plugin.storage import Database


async def web_search_stats(db: Database, days: int) -> str:
    """One line: the web searches over the last `days` days, and for how many users."""
    async with db.sessionmaker() as session:
        searches, users = await WebSearchUsageRepository(session).since(
            utc_today() - dt.timedelta(days=days - 1))
    return (f"Web searches in the last {quantity(days, 'en', 'day', 'days')}: {searches} "
            f"(for {quantity(users, 'en', 'user', 'users')})")


def websearch_report() -> ReportPart:
    async def part(db: Database, days: int) -> ReportSection:
        return ReportSection(await web_search_stats(db, days))

    return part
