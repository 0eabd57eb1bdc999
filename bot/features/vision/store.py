"""Images stored with user messages, by Telegram file id in message order."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.vision.models import MessageImage


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
