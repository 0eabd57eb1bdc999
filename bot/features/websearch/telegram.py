"""Web search on Telegram: its lines of /stats (the searches the user ran today and, for
admins, everyone's), read from its counter in the daily usage (usage.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.websearch.usage import WebSearchUsageRepository
from bot.plugin.storage import utc_today
from bot.plugin.telegram import FrontParts, TelegramPart, Translator


class WebSearchLines:
    """What /stats says of web search: nothing in /help, a line when the user searched
    today, and for admins the day's searches of all users when there were any."""

    def help_line(self, t: Translator) -> str:
        return ""

    async def stats_line(self, session: AsyncSession, user_id: int, t: Translator) -> str:
        searches = await WebSearchUsageRepository(session).for_user(user_id, utc_today())
        return t("stats_web", searches=searches) if searches else ""

    async def admin_line(self, session: AsyncSession, t: Translator) -> str:
        searches = await WebSearchUsageRepository(session).total(utc_today())
        return t("stats_web_admin", searches=searches) if searches else ""


def websearch_on_telegram(front: FrontParts) -> TelegramPart:
    """Its lines of /stats: searches counted earlier still show when search is off now."""

    return TelegramPart(lines=WebSearchLines())
