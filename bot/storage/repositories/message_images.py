"""Images stored with user messages, by Telegram file id in message order; photos and
recognised seconds in the daily usage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import DailyUsage, MessageImage
from bot.storage.repositories._upsert import excluded, prebuilt


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image of a stored message (plain values)."""

    file_id: str
    file_unique_id: str = ""
    width: int = 0
    height: int = 0
    token_count: int = 0


class MessageImageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message_id: int, images: Sequence[StoredImage]) -> None:
        if not images:
            return
        await self.session.execute(
            insert(MessageImage),
            [
                {
                    "message_id": message_id,
                    "position": position,
                    "file_id": image.file_id,
                    "file_unique_id": image.file_unique_id,
                    "width": image.width,
                    "height": image.height,
                    "token_count": image.token_count,
                }
                for position, image in enumerate(images)
            ],
        )

    async def for_messages(self, message_ids: Collection[int]) -> dict[int, list[StoredImage]]:
        """The images of each of `message_ids` that has any, in order (one indexed query)."""
        if not message_ids:
            return {}
        rows = await self.session.execute(
            select(
                MessageImage.message_id,
                MessageImage.file_id,
                MessageImage.file_unique_id,
                MessageImage.width,
                MessageImage.height,
                MessageImage.token_count,
            )
            .where(MessageImage.message_id.in_(list(message_ids)))
            .order_by(MessageImage.message_id, MessageImage.position)
        )
        out: dict[int, list[StoredImage]] = {}
        for row in rows:
            out.setdefault(int(row[0]), []).append(
                StoredImage(row[1], row[2], int(row[3]), int(row[4]), int(row[5]))
            )
        return out


@dataclass(frozen=True, slots=True)
class MediaUsage:
    photos: int = 0
    speech_seconds: int = 0


def _add_media(insert: Any) -> Any:
    table = DailyUsage.__table__
    stmt = insert(table).values(
        user_id=bindparam("m_user_id"),
        day=bindparam("m_day"),
        tokens=0,
        images=0,
        photos=bindparam("m_photos"),
        speech_seconds=bindparam("m_seconds"),
    )
    new = excluded(stmt)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.day],
        set_={
            "photos": table.c.photos + new.photos,
            "speech_seconds": table.c.speech_seconds + new.speech_seconds,
        },
    )


class MediaUsageRepository:
    """Photos and recognised seconds per user per day (daily_usage's issue-28 columns)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, user_id: int, day: dt.date, *, photos: int = 0, speech_seconds: int = 0
    ) -> None:
        params = {"m_user_id": user_id, "m_day": day, "m_photos": photos,
                  "m_seconds": speech_seconds}
        await self.session.execute(prebuilt(self.session, "media_usage_add", _add_media), params)

    async def for_user(self, user_id: int, day: dt.date) -> MediaUsage:
        row = (
            await self.session.execute(
                select(DailyUsage.photos, DailyUsage.speech_seconds).where(
                    DailyUsage.user_id == user_id, DailyUsage.day == day
                )
            )
        ).first()
        return MediaUsage(int(row[0]), int(row[1])) if row else MediaUsage()
