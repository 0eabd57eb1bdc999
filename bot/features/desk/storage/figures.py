"""The cases of a period as the console's live figures read them: plain rows of the columns
the quality figures use (`compute_quality`, the same code as `fmbot report`'s), not ORM
objects, and only the questions answered "not found" for the gaps. Building 2,500 cases,
their scores and turns as ORM objects was most of the figures' first load."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.desk.storage.insights_models import DeskScore, ScoreStatus
from bot.features.desk.storage.models import DeskCase, DeskStatus, DeskTurn


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: int
    user_id: int
    opened_at: dt.datetime
    handoff_at: dt.datetime | None
    csat_score: int | None
    last_user_at: dt.datetime
    resolved_at: dt.datetime | None
    status: DeskStatus


@dataclass(frozen=True, slots=True)
class ScoreRow:
    status: ScoreStatus
    score: int | None
    resolved: bool | None
    tone: str | None
    breach: str | None
    evidence_line: int | None
    evidence: str | None


@dataclass(frozen=True, slots=True)
class PeriodCases:
    cases: list[CaseRow]
    scores: dict[int, ScoreRow]
    # Each user's conversations opened since the start: (case, opened_at), oldest first.
    openings: dict[int, list[tuple[int, dt.datetime]]]
    # The questions answered "not found", by case then turn (the report's order).
    not_found: list[str]


async def period_cases(session: AsyncSession, start: dt.datetime, end: dt.datetime
                       ) -> PeriodCases:
    """The cases opened from `start` to `end` (as `cases_between`), four queries in all."""
    opened = (DeskCase.opened_at >= start, DeskCase.opened_at <= end)
    in_period = select(DeskCase.id).where(*opened)
    cases = [CaseRow(*row) for row in await session.execute(
        select(DeskCase.id, DeskCase.user_id, DeskCase.opened_at, DeskCase.handoff_at,
               DeskCase.csat_score, DeskCase.last_user_at, DeskCase.resolved_at,
               DeskCase.status).where(*opened).order_by(DeskCase.id))]
    scores = {int(s.case_id): ScoreRow(s.status, s.score, s.resolved, s.tone, s.breach,
                                       s.evidence_line, s.evidence)
              for s in await session.execute(
        select(DeskScore.case_id, DeskScore.status, DeskScore.score, DeskScore.resolved,
               DeskScore.tone, DeskScore.breach, DeskScore.evidence_line, DeskScore.evidence)
        .where(DeskScore.case_id.in_(in_period)))}
    openings: dict[int, list[tuple[int, dt.datetime]]] = {}
    users = select(DeskCase.user_id).where(*opened)
    for user, case_id, at in await session.execute(
        select(DeskCase.user_id, DeskCase.id, DeskCase.opened_at)
        .where(DeskCase.user_id.in_(users), DeskCase.opened_at >= start)
        .order_by(DeskCase.id)):
        openings.setdefault(int(user), []).append((int(case_id), at))
    not_found = list(await session.scalars(
        select(DeskTurn.question).join(DeskCase, DeskCase.id == DeskTurn.case_id)
        .where(*opened, DeskTurn.not_found.is_(True)).order_by(DeskCase.id, DeskTurn.id)))
    return PeriodCases(cases, scores, openings, not_found)
