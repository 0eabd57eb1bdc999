"""Exactly-once update handling: a claim is one INSERT ... ON CONFLICT DO NOTHING."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import ProcessedUpdate, utcnow
from bot.storage.repositories._upsert import prebuilt


def _claim(insert: Any) -> Any:
    # On the table, not the mapped class: a Core statement skips the ORM's bulk-insert layer.
    table = ProcessedUpdate.__table__
    return (
        insert(table)
        .values(
            bot_id=bindparam("claim_bot_id"),
            update_id=bindparam("claim_update_id"),
            processed_at=bindparam("claim_at"),
        )
        .on_conflict_do_nothing(index_elements=[table.c.bot_id, table.c.update_id])
        .returning(table.c.update_id)
    )


class UpdateRepository:
    def __init__(self, session: AsyncSession, bot_id: int = 0) -> None:
        """`bot_id` separates bots sharing one database (update ids are per bot)."""
        self.session = session
        self.bot_id = bot_id

    async def claim(self, update_id: int) -> bool:
        """True the first time an update id is claimed, False for a duplicate.

        Race-safe across sessions and processes: the primary key decides. The claim becomes
        durable with the unit of work's commit, so an update whose handling fails (rollback)
        is not marked processed.
        """
        params = {"claim_bot_id": self.bot_id, "claim_update_id": update_id, "claim_at": utcnow()}
        stmt = prebuilt(self.session, "claim", _claim)
        result = await self.session.execute(stmt, params)
        return result.first() is not None

    async def prune(self, older_than: dt.timedelta, *, now: dt.datetime | None = None) -> int:
        """Forget claims older than `older_than` (Telegram redelivers for at most a day).

        Returns the number of rows removed.
        """
        cutoff = (now or utcnow()) - older_than
        result = await self.session.execute(
            delete(ProcessedUpdate)
            .where(ProcessedUpdate.processed_at < cutoff)
            .returning(ProcessedUpdate.update_id)
        )
        return len(result.all())
