"""Periodic housekeeping: retention (RETENTION_DAYS) and forgetting old update claims."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.repositories import PrivacyRepository, UpdateRepository

log = logging.getLogger(__name__)

# Telegram keeps an undelivered update for 24 hours; claims older than that guard nothing.
CLAIM_TTL = dt.timedelta(days=2)


async def purge_once(sessionmaker: async_sessionmaker[AsyncSession], days: int) -> None:
    async with sessionmaker() as session:
        report = await PrivacyRepository(session).purge_older_than(days)
        await session.commit()
    if report.messages or report.conversations or report.image_jobs:
        log.info(
            "retention: removed %d conversations, %d messages, %d image jobs older than %d days",
            report.conversations,
            report.messages,
            report.image_jobs,
            days,
        )


async def purge_forever(
    sessionmaker: async_sessionmaker[AsyncSession], days: int, interval: float = 3600.0
) -> None:
    while True:
        try:
            await purge_once(sessionmaker, days)
        except Exception:
            log.exception("retention purge failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)


async def prune_updates_forever(
    sessionmaker: async_sessionmaker[AsyncSession], bot_id: int, interval: float = 3600.0
) -> None:
    while True:
        try:
            async with sessionmaker() as session:
                removed = await UpdateRepository(session, bot_id).prune(CLAIM_TTL)
                await session.commit()
            log.debug("forgot %d old update claims", removed)
        except Exception:
            log.exception("pruning update claims failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)
