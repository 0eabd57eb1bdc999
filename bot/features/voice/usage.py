"""Seconds of voice notes recognised per user per day: the voice feature's kind of the
core's daily counts (bot/storage/repositories/counts.py), shown by /stats."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.plugin.storage import DailyCounts

#: The kind the voice feature counts under (seconds recognised).
SPEECH_SECONDS = "speech_seconds"


async def count_seconds(session: AsyncSession, user_id: int, day: dt.date, seconds: int) -> None:
    """`seconds` more recognised for the user on `day`."""
    await DailyCounts(session).add(user_id, day, SPEECH_SECONDS, seconds)


async def seconds_of(session: AsyncSession, user_id: int, day: dt.date) -> int:
    """The seconds of the user's voice notes recognised on `day`."""
    return await DailyCounts(session).for_user(user_id, day, SPEECH_SECONDS)
