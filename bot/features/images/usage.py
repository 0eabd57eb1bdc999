"""Pictures drawn per user per day: the images feature's kind of the core's daily counts
(bot/storage/repositories/counts.py), read by DAILY_IMAGE_LIMIT and /stats (telegram.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.plugin.storage import DailyCounts

#: The kind the images feature counts under (one per picture submitted).
IMAGES = "images"


async def count_image(session: AsyncSession, user_id: int, day: dt.date) -> None:
    """One picture more for the user today (with the job's start, in its transaction)."""
    await DailyCounts(session).add(user_id, day, IMAGES)


async def images_of(session: AsyncSession, user_id: int, day: dt.date) -> int:
    """The pictures the user had drawn on `day`."""
    return await DailyCounts(session).for_user(user_id, day, IMAGES)


async def images_total(session: AsyncSession, day: dt.date) -> int:
    """The pictures all users had drawn on `day`."""
    return await DailyCounts(session).total(day, IMAGES)
