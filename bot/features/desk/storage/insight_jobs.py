"""Deferred model jobs and what they said about desk cases.

A job is claimed under a lease stored in its row (`owner`, `lease_until`): whichever process
or replica claims it works on it; a lease left to expire (the process died) lets another
claim it. A claim is one conditional UPDATE, so two replicas never both win it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.desk.storage.insights_models import (
    DeskInsight,
    DeskPlace,
    FaqDraft,
    FaqDraftStatus,
    InsightJob,
    InsightJobStatus,
)
from bot.features.desk.storage.models import DeskCase, DeskStatus
from bot.plugin.storage import utcnow

UNFINISHED = (InsightJobStatus.PENDING, InsightJobStatus.RUNNING, InsightJobStatus.DONE)


@dataclass(frozen=True, slots=True)
class JobCount:
    kind: str
    status: str
    jobs: int
    input_tokens: int
    output_tokens: int


class InsightJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        kind: str,
        request: Mapping[str, Any],
        *,
        model: str,
        mode: str,
        case_id: int | None = None,
        user_id: int | None = None,
    ) -> InsightJob:
        job = InsightJob(
            kind=kind, request=dict(request), model=model, mode=mode, case_id=case_id,
            user_id=user_id, status=InsightJobStatus.PENDING, attempts=0,
            next_try_at=utcnow(), input_tokens=0, output_tokens=0,
        )
        self.session.add(job)
        await self.session.flush()
        return job

    async def get(self, job_id: int) -> InsightJob | None:
        return await self.session.get(InsightJob, job_id)

    async def due(
        self, now: dt.datetime, limit: int = 100, *, take_over: bool = False
    ) -> list[int]:
        """Unfinished jobs whose retry time has come and whose lease is free, oldest first;
        `take_over`: leased or not (one process starting: every lease is a dead process's)."""
        query = select(InsightJob.id).where(
            InsightJob.status.in_(UNFINISHED), InsightJob.next_try_at <= now
        )
        if not take_over:
            query = query.where(
                or_(InsightJob.lease_until.is_(None), InsightJob.lease_until < now)
            )
        rows = await self.session.scalars(query.order_by(InsightJob.id).limit(limit))
        return list(rows)

    async def release_all(self) -> None:
        """Every lease: the one process starting inherits them from its dead predecessor."""
        await self.session.execute(
            update(InsightJob).where(InsightJob.lease_until.is_not(None))
            .values(owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )

    async def claim(self, job_id: int, owner: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
        """Take (or renew) the job's lease; False when another owner holds it."""
        result = await self.session.execute(
            update(InsightJob)
            .where(
                InsightJob.id == job_id,
                InsightJob.status.in_(UNFINISHED),
                or_(
                    InsightJob.lease_until.is_(None),
                    InsightJob.lease_until < now,
                    InsightJob.owner == owner,
                ),
            )
            .values(owner=owner, lease_until=now + ttl)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def release(self, job_id: int, owner: str) -> None:
        await self.session.execute(
            update(InsightJob)
            .where(InsightJob.id == job_id, InsightJob.owner == owner)
            .values(owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )

    async def counts(self, since: dt.datetime | None = None) -> list[JobCount]:
        query = select(
            InsightJob.kind,
            InsightJob.status,
            func.count(),
            func.coalesce(func.sum(InsightJob.input_tokens), 0),
            func.coalesce(func.sum(InsightJob.output_tokens), 0),
        ).group_by(InsightJob.kind, InsightJob.status)
        if since is not None:
            query = query.where(InsightJob.created_at >= since)
        rows = (await self.session.execute(query)).all()
        return [
            JobCount(str(kind), str(getattr(status, "value", status)), int(n), int(i), int(o))
            for kind, status, n, i, o in rows
        ]

    # -- what the jobs said about cases ----------------------------------------------------------
    async def insight(self, case_id: int) -> DeskInsight | None:
        return await self.session.get(DeskInsight, case_id)

    async def insight_for_update(self, case_id: int) -> DeskInsight:
        row = await self.session.get(DeskInsight, case_id)
        if row is None:
            row = DeskInsight(case_id=case_id, updated_at=utcnow())
            self.session.add(row)
        row.updated_at = utcnow()
        return row

    async def insights(self, case_ids: list[int]) -> dict[int, DeskInsight]:
        if not case_ids:
            return {}
        rows = await self.session.scalars(
            select(DeskInsight).where(DeskInsight.case_id.in_(case_ids))
        )
        return {row.case_id: row for row in rows}

    async def handoffs_without(self, kind: str) -> list[tuple[int, int]]:
        """(case, user) of conversations a person owns that have no job of `kind` (a stop
        between the handoff's commit and its job's)."""
        has = select(InsightJob.id).where(
            InsightJob.case_id == DeskCase.id, InsightJob.kind == kind
        )
        rows = await self.session.execute(
            select(DeskCase.id, DeskCase.user_id).where(
                DeskCase.status.in_((DeskStatus.WAITING, DeskStatus.WITH_OPERATOR)),
                ~has.exists(),
            )
        )
        return [(int(c), int(u)) for c, u in rows.all()]

    async def closed_without(self, kind: str, since: dt.datetime) -> list[int]:
        """Cases closed (/close) since `since` that have no job of `kind` (a stop between the
        close's commit and its jobs')."""
        has = select(InsightJob.id).where(
            InsightJob.case_id == DeskCase.id, InsightJob.kind == kind
        )
        rows = await self.session.scalars(
            select(DeskCase.id).where(
                DeskCase.status == DeskStatus.RESOLVED, DeskCase.resolution == "closed",
                DeskCase.resolved_at >= since, ~has.exists(),
            )
        )
        return [int(c) for c in rows]

    async def job_failed(self, case_id: int, kind: str) -> bool:
        found = await self.session.scalar(
            select(InsightJob.status).where(
                InsightJob.case_id == case_id, InsightJob.kind == kind
            ).order_by(InsightJob.id.desc()).limit(1)
        )
        return found is InsightJobStatus.FAILED

    async def pending_for_case(self, case_id: int, kind: str) -> bool:
        found = await self.session.scalar(
            select(InsightJob.id).where(
                and_(InsightJob.case_id == case_id, InsightJob.kind == kind)
            ).limit(1)
        )
        return found is not None

    # -- periodic runs shared by replicas ------------------------------------------------------
    async def claim_run(self, name: str, now: dt.datetime, every: dt.timedelta) -> bool:
        """Whether this process runs `name` now: its row holds the next run's Unix time, moved
        on by the one conditional UPDATE that wins (several replicas run it once)."""
        due, following = int(now.timestamp()), int((now + every).timestamp())
        row = await self.session.get(DeskPlace, name)
        if row is None:
            self.session.add(DeskPlace(name=name, chat_id=0, thread_id=following))
            try:
                await self.session.flush()
            except IntegrityError:
                await self.session.rollback()
                return False
            return True
        result = await self.session.execute(
            update(DeskPlace)
            .where(DeskPlace.name == name, DeskPlace.thread_id <= due)
            .values(thread_id=following)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    # -- FAQ drafts ------------------------------------------------------------------------------
    async def pending_drafts(self) -> list[FaqDraft]:
        rows = await self.session.scalars(
            select(FaqDraft).where(FaqDraft.status == FaqDraftStatus.PENDING).order_by(FaqDraft.id)
        )
        return list(rows)
