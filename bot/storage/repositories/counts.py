"""Counts per user per day, of a kind the counting feature names (`daily_counts`): pictures
drawn, photos seen, seconds heard, web searches... One upsert per charge, race-safe on both
backends; the core names no kind (each feature keeps its own in its folder)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import DailyCount
from bot.storage.repositories._upsert import prebuilt, summing


def _add(insert: Any) -> Any:
    return summing(insert, DailyCount.__table__, ("user_id", "day", "kind"), ("amount",),
                   "count_")


# Built once: read by the daily limits before a turn.
_FOR_USER = select(DailyCount.amount).where(
    DailyCount.user_id == bindparam("count_user_id"),
    DailyCount.day == bindparam("count_day"),
    DailyCount.kind == bindparam("count_kind"),
)


class DailyCounts:
    """Counts per user per UTC day, of a `kind` the counting feature names (at most 32
    characters; a plugin prefixes its kinds with its name), on the session given (the
    handler's, or one a feature opened): the caller commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user_id: int, day: dt.date, kind: str, amount: int = 1) -> None:
        """Add `amount` to the user's count of `kind` for `day` (created when missing); an
        amount of zero stores nothing."""
        if not amount:
            return
        params = {"count_user_id": user_id, "count_day": day, "count_kind": kind,
                  "count_amount": amount}
        await self.session.execute(prebuilt(self.session, "daily_counts_add", _add), params)

    async def for_user(self, user_id: int, day: dt.date, kind: str) -> int:
        """The user's count of `kind` for `day` (0 when none)."""
        params = {"count_user_id": user_id, "count_day": day, "count_kind": kind}
        found = await self.session.scalar(_FOR_USER, params)
        return int(found or 0)

    async def of_user(self, user_id: int, day: dt.date, kinds: Collection[str]) -> dict[str, int]:
        """The user's counts of each of `kinds` for `day`, in one query (0 for those none)."""
        rows = await self.session.execute(
            select(DailyCount.kind, DailyCount.amount).where(
                DailyCount.user_id == user_id, DailyCount.day == day,
                DailyCount.kind.in_(list(kinds)),
            )
        )
        found = {kind: int(amount) for kind, amount in rows.all()}
        return {kind: found.get(kind, 0) for kind in kinds}

    async def total(self, day: dt.date, kind: str) -> int:
        """All users' counts of `kind` for `day` summed."""
        found = await self.session.scalar(
            select(func.coalesce(func.sum(DailyCount.amount), 0)).where(
                DailyCount.kind == kind, DailyCount.day == day
            )
        )
        return int(found or 0)

    async def since(self, first_day: dt.date, kind: str) -> tuple[int, int]:
        """(the sum of `kind`, the users who counted any) from `first_day` on."""
        row = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(DailyCount.amount), 0),
                    func.count(func.distinct(DailyCount.user_id)).filter(DailyCount.amount > 0),
                ).where(DailyCount.kind == kind, DailyCount.day >= first_day)
            )
        ).one()
        return int(row[0]), int(row[1])
