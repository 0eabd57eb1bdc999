"""The conversations' quality scores (issue 66): which finished conversations still wait for
one, the verdicts stored with their case, and what the report needs beside them (the users'
other conversations, to see a repeat; their topics, to link the worst)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.desk.storage.insights_models import DeskScore, InsightJob, ScoreStatus
from bot.features.desk.storage.models import DeskCase, DeskStatus, DeskTopic
from bot.plugin.storage import utcnow


class DeskScoreRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def finished_unscored(
        self, kind: str, now: dt.datetime, *, idle: dt.timedelta, since: dt.datetime,
        limit: int = 200,
    ) -> list[tuple[int, int]]:
        """(case, user) of conversations opened since `since` that are over and have no
        job of `kind`: closed by a person, or left to the bot and quiet for `idle` (the
        report's "no new message within 24 h")."""
        has_job = select(InsightJob.id).where(
            InsightJob.case_id == DeskCase.id, InsightJob.kind == kind
        )
        has_score = select(DeskScore.case_id).where(DeskScore.case_id == DeskCase.id)
        rows = await self.session.execute(
            select(DeskCase.id, DeskCase.user_id)
            .where(
                DeskCase.opened_at >= since,
                or_(
                    DeskCase.status == DeskStatus.RESOLVED,
                    and_(DeskCase.status == DeskStatus.BOT, DeskCase.last_user_at < now - idle),
                ),
                ~has_job.exists(),
                ~has_score.exists(),
            )
            .order_by(DeskCase.id)
            .limit(limit)
        )
        return [(int(c), int(u)) for c, u in rows.all()]

    async def put(
        self,
        case_id: int,
        *,
        job_id: int | None,
        status: ScoreStatus,
        resolved: bool | None = None,
        from_knowledge_base: bool | None = None,
        tone: str | None = None,
        score: int | None = None,
        breach: str | None = None,
        evidence_line: int | None = None,
        evidence: str | None = None,
        error: str | None = None,
    ) -> DeskScore:
        """Store (or replace: a job applied twice) the case's verdict."""
        row = await self.session.get(DeskScore, case_id)
        if row is None:
            row = DeskScore(case_id=case_id, status=status)
            self.session.add(row)
        row.job_id, row.status, row.resolved = job_id, status, resolved
        row.from_knowledge_base, row.tone, row.score = from_knowledge_base, tone, score
        row.breach, row.evidence_line, row.evidence = breach, evidence_line, evidence
        row.error, row.scored_at = error, utcnow()
        await self.session.flush()
        return row

    async def get(self, case_id: int) -> DeskScore | None:
        return await self.session.get(DeskScore, case_id)

    async def scores(self, case_ids: Sequence[int]) -> dict[int, DeskScore]:
        if not case_ids:
            return {}
        rows = await self.session.scalars(
            select(DeskScore).where(DeskScore.case_id.in_(list(case_ids)))
        )
        return {row.case_id: row for row in rows}

    async def openings_of(
        self, users: Sequence[int], since: dt.datetime
    ) -> dict[int, list[tuple[int, dt.datetime]]]:
        """Each user's conversations opened since `since`: (case, opened_at), oldest first
        (a repeat is the user's next conversation, which may fall after the period)."""
        if not users:
            return {}
        rows = await self.session.execute(
            select(DeskCase.user_id, DeskCase.id, DeskCase.opened_at)
            .where(DeskCase.user_id.in_(list(set(users))), DeskCase.opened_at >= since)
            .order_by(DeskCase.id)
        )
        out: dict[int, list[tuple[int, dt.datetime]]] = {}
        for user, case, opened in rows.all():
            out.setdefault(int(user), []).append((int(case), opened))
        return out

    async def topics(self, users: Sequence[int]) -> dict[int, tuple[int, int]]:
        """The users' support-chat topics: user -> (chat id, thread id)."""
        if not users:
            return {}
        rows = await self.session.scalars(
            select(DeskTopic).where(DeskTopic.user_id.in_(list(set(users))))
        )
        return {t.user_id: (t.chat_id, t.thread_id) for t in rows}

    async def neighbours(self, case_id: int) -> tuple[DeskCase | None, DeskCase | None,
                                                         DeskCase | None]:
        """(the case, the user's conversation before it, the one after it)."""
        case = await self.session.get(DeskCase, case_id)
        if case is None:
            return None, None, None
        before = await self.session.scalar(
            select(DeskCase).where(DeskCase.user_id == case.user_id, DeskCase.id < case.id)
            .order_by(DeskCase.id.desc()).limit(1)
        )
        after = await self.session.scalar(
            select(DeskCase).where(DeskCase.user_id == case.user_id, DeskCase.id > case.id)
            .order_by(DeskCase.id).limit(1)
        )
        return case, before, after
