"""Voice replies in `bot report`: spoken answers, failures and characters over the period,
against the per-user daily budget (TTS_CHARS_PER_USER_DAY)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.voice.repository import VoiceRepository
from bot.plugin.commands import ReportSection
from bot.plugin.storage import utc_today

if TYPE_CHECKING:
    from bot.features.voice.settings import VoiceSettings
    from bot.plugin.commands import ReportPart
    from bot.plugin.storage import Database


async def voice_report(
    sessionmaker: async_sessionmaker[AsyncSession], *, days: int, budget: int
) -> str:
    until = utc_today()
    since = until - dt.timedelta(days=max(days, 1) - 1)
    async with sessionmaker() as session:
        repo = VoiceRepository(session)
        total = await repo.totals(since, until)
        capped = await repo.users_at_budget(since, until, budget) if budget > 0 else 0
    return (
        f"Voice replies, last {days} days: {total.replies} sent, {total.failures} failed, "
        f"{total.chars} characters spoken; {capped} user(s) reached the daily budget of "
        f"{budget} characters (TTS_CHARS_PER_USER_DAY)."
    )


def voice_part(voice: VoiceSettings) -> ReportPart:
    """Voice replies' part of `fmbot report` (their daily budget: TTS_CHARS_PER_USER_DAY)."""

    async def part(db: Database, days: int) -> ReportSection:
        return ReportSection(await voice_report(
            db.sessionmaker, days=days, budget=voice.tts_chars_per_user_day))

    return part
