"""Photos shown to the vision model per user per day: the vision feature's kind of the
core's daily counts (bot/storage/repositories/counts.py), shown by /stats."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.plugin.storage import DailyCounts

#: The kind the vision feature counts under (one per photo a question carried).
PHOTOS = "photos"


async def count_photos(session: AsyncSession, user_id: int, day: dt.date, photos: int) -> None:
    """`photos` more for the user on `day` (stored with the question, in its transaction)."""
    await DailyCounts(session).add(user_id, day, PHOTOS, photos)


async def photos_of(session: AsyncSession, user_id: int, day: dt.date) -> int:
    """The photos the user's questions carried on `day`."""
    return await DailyCounts(session).for_user(user_id, day, PHOTOS)
