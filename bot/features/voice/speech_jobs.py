"""Long voice notes' asynchronous recognitions: stored, submitted, done or failed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.voice.models import (
    SpeechJob,
    SpeechJobStatus,
)
from bot.plugin.storage import insert_for


class SpeechJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_create(
        self, *, chat_id: int, message_id: int, user_id: int, file_id: str, seconds: int,
        language: str,
    ) -> SpeechJob:
        """The job of this voice note: a new pending one, or the one a replayed update made."""
        table = SpeechJob.__table__
        now = dt.datetime.now(dt.UTC)
        await self.session.execute(
            insert_for(self.session, table).values(
                chat_id=chat_id, message_id=message_id, user_id=user_id, file_id=file_id,
                seconds=seconds, language=language, status=SpeechJobStatus.PENDING.value,
                created_at=now, updated_at=now,
            ).on_conflict_do_nothing(index_elements=[table.c.chat_id, table.c.message_id])
        )
        job = (
            await self.session.execute(
                select(SpeechJob).where(SpeechJob.chat_id == chat_id,
                                        SpeechJob.message_id == message_id)
            )
        ).scalar_one()
        return job

    async def get(self, job_id: int) -> SpeechJob | None:
        return await self.session.get(SpeechJob, job_id)

    async def set(self, job_id: int, **values: object) -> None:
        await self.session.execute(
            update(SpeechJob).where(SpeechJob.id == job_id)
            .values(**values, updated_at=dt.datetime.now(dt.UTC))
        )

    async def unfinished(self) -> list[SpeechJob]:
        done = (SpeechJobStatus.DONE, SpeechJobStatus.FAILED)
        return list((await self.session.execute(
            select(SpeechJob).where(SpeechJob.status.not_in(done)).order_by(SpeechJob.id)
        )).scalars())
