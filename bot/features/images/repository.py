"""Durable image jobs: stored before submitting, operation id stored before polling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.images.models import UNFINISHED_IMAGE_JOBS, ImageJob, ImageJobStatus
from bot.plugin.storage import utcnow

UNFINISHED_STATUSES = UNFINISHED_IMAGE_JOBS
FINAL_STATUSES = frozenset(ImageJobStatus) - frozenset(UNFINISHED_STATUSES)
# Built once: the replicas' sweep asks every few seconds.
_UNFINISHED_IDS = (
    select(ImageJob.id).where(ImageJob.status.in_(UNFINISHED_STATUSES)).order_by(ImageJob.id)
)
_UNFINISHED_IDS_BEFORE = _UNFINISHED_IDS.where(
    ImageJob.created_at < bindparam("unfinished_before")
)


class ImageJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        chat_id: int,
        user_id: int,
        prompt: str,
        options: Mapping[str, Any] | None = None,
        *,
        model: str | None = None,
        status_message_id: int | None = None,
    ) -> ImageJob:
        """Store a pending job and flush it, so `.id` is set. `options` must be JSON-able."""
        job = ImageJob(
            chat_id=chat_id,
            user_id=user_id,
            prompt=prompt,
            options=dict(options or {}),
            model=model,
            status=ImageJobStatus.PENDING,
            status_message_id=status_message_id,
        )
        self.session.add(job)
        await self.session.flush()
        return job

    async def get(self, job_id: int) -> ImageJob | None:
        return await self.session.get(ImageJob, job_id)

    async def set_operation(self, job_id: int, operation_id: str) -> ImageJob:
        """Record the provider's operation id; the job becomes running."""
        job = await self._require(job_id)
        job.operation_id = operation_id
        job.status = ImageJobStatus.RUNNING
        job.updated_at = utcnow()
        await self.session.flush()
        return job

    async def set_running(self, job_id: int) -> ImageJob:
        """A job of the synchronous Images API: accepted, no operation to record."""
        job = await self._require(job_id)
        job.status = ImageJobStatus.RUNNING
        job.updated_at = utcnow()
        await self.session.flush()
        return job

    async def count_request(self, job_id: int) -> int:
        """One more request to the synchronous Images API is about to be sent: the count."""
        job = await self._require(job_id)
        job.requests += 1
        job.updated_at = utcnow()
        await self.session.flush()
        return job.requests

    async def set_status(
        self,
        job_id: int,
        status: ImageJobStatus,
        *,
        error: str | None = None,
        result_message_id: int | None = None,
    ) -> ImageJob:
        """Move the job to `status`; a final status also stamps finished_at."""
        job = await self._require(job_id)
        job.status = status
        if error is not None:
            job.error = error
        if result_message_id is not None:
            job.result_message_id = result_message_id
        now = utcnow()
        job.updated_at = now
        if status in FINAL_STATUSES:
            job.finished_at = now
        await self.session.flush()
        return job

    async def set_status_message(self, job_id: int, telegram_message_id: int) -> ImageJob:
        job = await self._require(job_id)
        job.status_message_id = telegram_message_id
        job.updated_at = utcnow()
        await self.session.flush()
        return job

    async def unfinished(self) -> list[ImageJob]:
        """Pending and running jobs, oldest first: what a restart must resume."""
        rows = await self.session.scalars(
            select(ImageJob).where(ImageJob.status.in_(UNFINISHED_STATUSES)).order_by(ImageJob.id)
        )
        return list(rows)

    async def unfinished_ids(self, created_before: dt.datetime | None = None) -> list[int]:
        """The ids of `unfinished` (created before `created_before` when given)."""
        if created_before is None:
            return list(await self.session.scalars(_UNFINISHED_IDS))
        params = {"unfinished_before": created_before}
        return list(await self.session.scalars(_UNFINISHED_IDS_BEFORE, params))

    async def for_user(self, user_id: int, limit: int = 20) -> list[ImageJob]:
        """The user's newest jobs, newest first."""
        rows = await self.session.scalars(
            select(ImageJob)
            .where(ImageJob.user_id == user_id)
            .order_by(ImageJob.id.desc())
            .limit(limit)
        )
        return list(rows)

    async def _require(self, job_id: int) -> ImageJob:
        job = await self.session.get(ImageJob, job_id)
        if job is None:
            raise LookupError(f"no image job with id {job_id}")
        return job
