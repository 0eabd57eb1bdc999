"""The desk's report figures per day, as the console's live figures ask for them
(`DeskFigures`): the quality per day from `compute_quality` and the gaps from the same
grouping as `build_report` (the code `fmbot report` prints with), over the period's cases read
as plain rows (storage/figures.py), without the rest of the report."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.desk.domain.hours import SupportHours
from bot.features.desk.domain.quality import compute_quality
from bot.features.desk.domain.report import gap_key
from bot.features.desk.storage.figures import period_cases
from bot.plugin.offers import DayFigures
from bot.plugin.storage import utcnow


def figures_reader(
    sessionmaker: async_sessionmaker[AsyncSession], hours: Callable[[], SupportHours],
    idle: dt.timedelta,
) -> Callable[[int], Awaitable[tuple[list[DayFigures], list[tuple[str, int]]]]]:
    """`hours`: SUPPORT_HOURS read when the figures are (a wrong value fails the figures,
    as it fails `fmbot report`, not the bot's start)."""

    async def read(days: int) -> tuple[list[DayFigures], list[tuple[str, int]]]:
        hours()  # checked as `fmbot report` checks it; no figure here depends on it
        end = utcnow()
        start = end - dt.timedelta(days=days)  # as build_report's period
        async with sessionmaker() as session:
            period = await period_cases(session, start, end)
            await session.commit()
        quality = compute_quality(period.cases, period.scores, period.openings, {},
                                  start=start, end=end, idle=idle)
        per_day = [
            DayFigures(d.day, d.conversations, d.handed_over, d.verified_rate,
                       d.csat_average, d.mean_score)
            for d in quality.days
        ]
        gaps: Counter[str] = Counter()
        examples: dict[str, str] = {}
        for question in period.not_found:
            if key := gap_key(question):
                gaps[key] += 1
                examples.setdefault(key, question.strip())
        return per_day, [(examples[k], n) for k, n in gaps.most_common()]

    return read
