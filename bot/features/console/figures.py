"""The live figures: the report's figures per day for a chosen period, today included, as
charts drawn on the server (inline SVG, no script): the support desk's (conversations,
handoffs, verified resolution, CSAT, scores, knowledge gaps) when it is on, and every
deployment's answers and "not found" answers from their traces."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.console.queries import window
from bot.plugin.helpers import AMBER, GREEN, RED, Column, columns, loop_time
from bot.plugin.offers import DayFigures, DeskFigures
from bot.plugin.storage import NOT_FOUND_TAGGED, AnswerTrace

BLUE, GREY = "#2a5db0", "#6b7480"
#: How long the desk's figures per day are reused: reading them reads every case of the
#: period (60-90 ms for 2,500 cases, bench/results.md), and a minute-old figure is live
#: enough for a chart of days.
DESK_FOR = 60.0


DeskRead = tuple[list[DayFigures], list[tuple[str, int]]]


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    # Drawn by bot.plugin.helpers.columns, which escapes every value it draws: the page shows
    # it as it is (the template's one `safe`).
    svg: str
    total: str


@dataclass(frozen=True, slots=True)
class Shown:
    start: dt.date
    end: dt.date
    charts: list[Chart]
    gaps: list[tuple[str, int]]
    desk: bool


class Figures:
    PERIODS = (7, 14, 30, 90)

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], desk: DeskFigures | None
    ) -> None:
        self.sessionmaker = sessionmaker
        self.desk = desk
        self._desk_read: dict[tuple[int, dt.date], tuple[float, DeskRead]] = {}

    async def _desk(self, desk: DeskFigures, days: int, today: dt.date) -> DeskRead:
        key, now = (days, today), loop_time()
        kept = self._desk_read.get(key)
        if kept is not None and now - kept[0] < DESK_FOR:
            return kept[1]
        read = await desk.read(days)
        self._desk_read = {k: v for k, v in self._desk_read.items() if now - v[0] < DESK_FOR}
        self._desk_read[key] = (now, read)
        return read

    @classmethod
    def period(cls, asked: str | None) -> int:
        """The days asked for, if one of PERIODS; else 14."""
        return int(asked) if asked in {str(p) for p in cls.PERIODS} else 14

    async def read(self, days: int, today: dt.date) -> Shown:
        start = today - dt.timedelta(days=days - 1)
        every = [start + dt.timedelta(days=i) for i in range(days)]
        async with self.sessionmaker() as session:
            answers = await answers_per_day(session, start, today)
            await session.commit()
        label = {day: f"{day:%m-%d}" for day in every}
        charts = [
            _chart("Answers", [Column(label[d], answers[d].answers if d in answers else 0,
                                      str(answers[d].answers) if d in answers else "0")
                               for d in every], BLUE, sum(a.answers for a in answers.values())),
            _chart("\"Not found\" answers",
                   [Column(label[d], answers[d].not_found if d in answers else 0,
                           str(answers[d].not_found) if d in answers else "0")
                    for d in every], RED, sum(a.not_found for a in answers.values())),
        ]
        gaps: list[tuple[str, int]] = []
        if self.desk is not None:
            per_day, gaps = await self._desk(self.desk, days, today)
            desk = {d.day: d for d in per_day}
            charts = [*_desk_charts([desk.get(d) for d in every], [label[d] for d in every]),
                      *charts]
        return Shown(start, today, charts, gaps[:20], self.desk is not None)


@dataclass(frozen=True, slots=True)
class DayAnswers:
    """The answers of a day, and how many of them said "not found"."""

    answers: int
    not_found: int


async def answers_per_day(
    session: AsyncSession, start: dt.date, end: dt.date
) -> dict[dt.date, DayAnswers]:
    """Answers with a trace per day from `start` to `end` (both included), counted by the
    database from the traces' time indexes (one row a day, however many answers)."""
    since, _ = window(start)
    _, until = window(end)
    counted: dict[dt.date, list[int]] = {}
    for kind, condition in ((0, AnswerTrace.created_at.is_not(None)), (1, NOT_FOUND_TAGGED)):
        day = func.date(AnswerTrace.created_at)
        rows = await session.execute(
            select(day, func.count()).where(AnswerTrace.created_at >= since,
                                            AnswerTrace.created_at < until, condition)
            .group_by(day))
        for when, count in rows:
            key = when if isinstance(when, dt.date) else dt.date.fromisoformat(str(when))
            counted.setdefault(key, [0, 0])[kind] = int(count)
    return {day: DayAnswers(answers, missed) for day, (answers, missed) in counted.items()}


def _chart(title: str, points: list[Column], colour: str, total: object,
           maximum: float | None = None) -> Chart:
    most = maximum if maximum is not None else max(
        [p.value for p in points if p.value is not None] + [1])
    svg = columns(title.lower().replace(" ", "-").replace('"', ""), f"{title} per day",
                  points, maximum=most, colour=colour, scales=False)
    return Chart(title, svg, str(total))


def _desk_charts(days: list[DayFigures | None], labels: list[str]) -> list[Chart]:
    def col(label: str, value: float | None, text: str) -> Column:
        return Column(label, value, text)

    pairs = list(zip(labels, days, strict=True))
    volume = [col(x, d.conversations if d else 0, str(d.conversations if d else 0))
              for x, d in pairs]
    handed = [col(x, d.handed_over if d else 0, str(d.handed_over if d else 0))
              for x, d in pairs]
    rate = [col(x, d.verified_rate if d else None,
                f"{d.verified_rate:.0%}" if d and d.verified_rate is not None else "")
            for x, d in pairs]
    csat = [col(x, d.csat if d else None, f"{d.csat:.1f}" if d and d.csat else "")
            for x, d in pairs]
    score = [col(x, d.score if d else None, f"{d.score:.1f}" if d and d.score else "")
             for x, d in pairs]
    known = [d for d in days if d is not None]
    rated = [d.csat for d in known if d.csat is not None]
    return [
        _chart("Conversations", volume, BLUE, sum(d.conversations for d in known)),
        _chart("Handed to a person", handed, AMBER, sum(d.handed_over for d in known)),
        _chart("Verified resolution", rate, GREEN, "", maximum=1.0),
        _chart("CSAT (1-5)", csat, AMBER,
               f"{sum(rated) / len(rated):.2f}" if rated else "", maximum=5.0),
        _chart("Mean score (1-5)", score, GREY, "", maximum=5.0),
    ]
