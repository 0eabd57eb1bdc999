"""The desk's report figures per day, as the console's live figures ask for them
(`DeskFigures`): the same `build_report` that `fmbot report` prints, read per day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.desk.domain.hours import SupportHours
from bot.features.desk.domain.report import build_report
from bot.plugin.offers import DayFigures


def figures_reader(
    sessionmaker: async_sessionmaker[AsyncSession], hours: Callable[[], SupportHours],
    idle: dt.timedelta,
) -> Callable[[int], Awaitable[tuple[list[DayFigures], list[tuple[str, int]]]]]:
    """`hours`: SUPPORT_HOURS read when the figures are (a wrong value fails the figures,
    as it fails `fmbot report`, not the bot's start)."""

    async def read(days: int) -> tuple[list[DayFigures], list[tuple[str, int]]]:
        report = await build_report(sessionmaker, days=days, hours=hours(), idle=idle)
        quality = report.quality
        per_day = [
            DayFigures(d.day, d.conversations, d.handed_over, d.verified_rate,
                       d.csat_average, d.mean_score)
            for d in (quality.days if quality is not None else [])
        ]
        return per_day, report.gaps

    return read
