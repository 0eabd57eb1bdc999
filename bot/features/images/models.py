"""The images feature's durable jobs (`image_jobs`, loaded for the schema by
bot/features/installed.py). A personal table: a user's jobs go with them on /forget, and
retention removes the finished ones older than the cutoff (bot/storage/personal.py)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, and_
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import (
    Base,
    BigIntegerPK,
    PersonalTable,
    TimestampMixin,
    register_personal,
    string_enum,
)


class ImageJobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DELIVERED = "delivered"
    FAILED = "failed"
    REFUSED = "refused"
    CANCELLED = "cancelled"


# Still to be polled or delivered: the image jobs' pollers resume these at start.
UNFINISHED_IMAGE_JOBS = (ImageJobStatus.PENDING, ImageJobStatus.RUNNING)


class ImageJob(TimestampMixin, Base):
    __tablename__ = "image_jobs"
    __table_args__ = (Index("ix_image_jobs_status", "status"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model: Mapped[str | None] = mapped_column(String(256))
    operation_id: Mapped[str | None] = mapped_column(String(128))
    # Requests sent to the synchronous Images API (Alice AI ART), counted before each is sent:
    # a restart mid-request asks again only while this is below 2.
    requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[ImageJobStatus] = mapped_column(
        string_enum(ImageJobStatus), default=ImageJobStatus.PENDING
    )
    error: Mapped[str | None] = mapped_column(Text)
    # The "drawing..." message shown while the job runs, and the photo message delivered.
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    result_message_id: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[dt.datetime | None] = mapped_column()


# A user's jobs go with them on /forget; retention removes the finished jobs older than the
# cutoff (the unfinished ones are kept: the pollers resume them).
register_personal(
    PersonalTable(
        ImageJob,
        expired=lambda cutoff: and_(
            ImageJob.status.not_in(UNFINISHED_IMAGE_JOBS), ImageJob.created_at < cutoff
        ),
    ),
)
