"""Tokens per user per day (of them, the hidden reasoning's): one upsert per answer, race-safe
on both backends. A feature's own daily counters are `DailyCounts` (counts.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import DailyUsage
from bot.storage.repositories._upsert import prebuilt, summing
from bot.storage.repositories.batch import Statement


def _add(insert: Any) -> Any:
    return summing(insert, DailyUsage.__table__, ("user_id", "day"),
                   ("tokens", "reasoning_tokens"), "add_")


@dataclass(frozen=True, slots=True)
class UsageCount:
    tokens: int = 0
    reasoning_tokens: int = 0  # of `tokens`


class UsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user_id: int, day: dt.date, tokens: int = 0,
                  reasoning_tokens: int = 0) -> None:
        """Add to the user's tokens for `day` (created at zero when missing);
        `reasoning_tokens` are a part of `tokens`, counted apart for /stats."""
        await self.session.execute(*self.add_statement(user_id, day, tokens, reasoning_tokens))

    def add_statement(self, user_id: int, day: dt.date, tokens: int = 0,
                      reasoning_tokens: int = 0) -> Statement:
        """`add` as a statement to run (batch.py)."""
        params = {"add_user_id": user_id, "add_day": day}
        params |= {"add_tokens": tokens, "add_reasoning_tokens": reasoning_tokens}
        return prebuilt(self.session, "usage_add", _add), params

    async def for_user(self, user_id: int, day: dt.date) -> UsageCount:
        row = (
            await self.session.execute(
                select(DailyUsage.tokens, DailyUsage.reasoning_tokens).where(
                    DailyUsage.user_id == user_id, DailyUsage.day == day
                )
            )
        ).first()
        if row is None:
            return UsageCount()
        return UsageCount(int(row.tokens), int(row.reasoning_tokens or 0))

    async def totals(self, day: dt.date) -> UsageCount:
        """All users' tokens for `day` summed."""
        row = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(DailyUsage.tokens), 0),
                    func.coalesce(func.sum(DailyUsage.reasoning_tokens), 0),
                ).where(DailyUsage.day == day)
            )
        ).one()
        return UsageCount(int(row[0]), int(row[1]))
