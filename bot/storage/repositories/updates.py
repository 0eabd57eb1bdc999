"""Exactly-once update handling and the durable queue of accepted messages.

A claim is one INSERT ... ON CONFLICT DO NOTHING per batch of updates. A message's claim also
stores the update itself (`payload`) until its effect is stored: the effect's transaction
settles it (`settle`), and a restart replays what is still pending (`pending`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import ProcessedUpdate, utcnow
from bot.storage.repositories._upsert import insert_for, prebuilt
from bot.storage.repositories.batch import Statement


@dataclass(frozen=True, slots=True)
class IncomingUpdate:
    """An update to claim; `payload` (its JSON) when it must survive until its effect is stored."""

    update_id: int
    chat_id: int | None = None
    payload: str | None = None


@dataclass(slots=True)
class UpdateReceipt:
    """A claimed update whose payload waits in the queue. Whoever stores the update's effect
    settles it in the same transaction and then sets `settled` (after the commit)."""

    bot_id: int
    update_id: int
    settled: bool = False


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    update_id: int
    chat_id: int | None
    payload: str
    accepted_at: dt.datetime


def _claim(insert: Any) -> Any:
    # On the table, not the mapped class: a Core statement skips the ORM's bulk-insert layer.
    table = ProcessedUpdate.__table__
    return (
        insert(table)
        .values(
            bot_id=bindparam("claim_bot_id"),
            update_id=bindparam("claim_update_id"),
            processed_at=bindparam("claim_at"),
            chat_id=bindparam("claim_chat_id"),
            payload=bindparam("claim_payload"),
        )
        .on_conflict_do_nothing(index_elements=[table.c.bot_id, table.c.update_id])
        .returning(table.c.update_id)
    )


def _settle(many: bool) -> Any:
    # One update (one message, one question) is the usual case: a plain parameter then, no
    # IN list to expand on every execution.
    table = cast(Table, ProcessedUpdate.__table__)
    ids = table.c.update_id
    which = ids.in_(bindparam("settle_ids", expanding=True)) if many else ids == bindparam(
        "settle_id"
    )
    return (
        update(table)
        .where(table.c.bot_id == bindparam("settle_bot_id"), which, table.c.payload.is_not(None))
        .values(payload=None)
    )


def _pending_ids() -> Any:
    table = ProcessedUpdate.__table__
    return select(table.c.update_id).where(
        table.c.bot_id == bindparam("queue_bot_id"),
        table.c.chat_id == bindparam("queue_chat"),
        table.c.payload.is_not(None),
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
        return bool(await self.claim_many([IncomingUpdate(update_id)]))

    async def claim_many(self, updates: Sequence[IncomingUpdate]) -> set[int]:
        """Claim a batch (one statement); returns the ids claimed now (the rest are
        duplicates). Updates with a payload join the queue until settled."""
        if not updates:
            return set()
        now = utcnow()
        if len(updates) == 1:
            only = updates[0]
            params = {
                "claim_bot_id": self.bot_id,
                "claim_update_id": only.update_id,
                "claim_at": now,
                "claim_chat_id": only.chat_id,
                "claim_payload": only.payload,
            }
            result = await self.session.execute(prebuilt(self.session, "claim", _claim), params)
            return {row[0] for row in result}
        table = ProcessedUpdate.__table__
        rows = [
            {
                "bot_id": self.bot_id,
                "update_id": u.update_id,
                "processed_at": now,
                "chat_id": u.chat_id,
                "payload": u.payload,
            }
            for u in updates
        ]
        stmt = (
            insert_for(self.session, table)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[table.c.bot_id, table.c.update_id])
            .returning(table.c.update_id)
        )
        result = await self.session.execute(stmt)
        return {row[0] for row in result}

    async def settle(self, update_ids: Sequence[int]) -> None:
        """The updates' effects are stored: they leave the queue (idempotent)."""
        if update_ids:
            await self.session.execute(*self.settle_statement(update_ids))

    def settle_statement(self, update_ids: Sequence[int]) -> Statement:
        """`settle` as a statement to run (batch.py); `update_ids` not empty."""
        if len(update_ids) == 1:
            one = {"settle_bot_id": self.bot_id, "settle_id": update_ids[0]}
            return prebuilt(self.session, "settle1", lambda _: _settle(many=False)), one
        many = {"settle_bot_id": self.bot_id, "settle_ids": list(update_ids)}
        return prebuilt(self.session, "settle", lambda _: _settle(many=True)), many

    async def pending(self, chat_id: int | None = None) -> list[PendingUpdate]:
        """The queue (or one chat's part of it), in update_id order (Telegram's delivery
        order)."""
        table = ProcessedUpdate.__table__
        stmt = (
            select(table.c.update_id, table.c.chat_id, table.c.payload, table.c.processed_at)
            .where(table.c.bot_id == self.bot_id, table.c.payload.is_not(None))
            .order_by(table.c.update_id)
        )
        if chat_id is not None:
            stmt = stmt.where(table.c.chat_id == chat_id)
        rows = await self.session.execute(stmt)
        return [PendingUpdate(*row) for row in rows]

    async def pending_ids(self, chat_id: int) -> list[int]:
        """The ids of the chat's queued updates (whether any is left, without their payloads)."""
        stmt = prebuilt(self.session, "pending_ids", lambda _: _pending_ids())
        params = {"queue_bot_id": self.bot_id, "queue_chat": chat_id}
        return [row[0] for row in await self.session.execute(stmt, params)]

    @staticmethod
    def pending_chats_query_for(bot_id: Any, accepted_before: Any) -> Select[int]:
        """Chats of bot `bot_id` with queued updates accepted before `accepted_before` (the
        replicas' sweep for updates whose chat nobody is working on); either may be a
        `bindparam` (a statement built once)."""
        table = ProcessedUpdate.__table__
        return (
            select(table.c.chat_id)
            .where(
                table.c.bot_id == bot_id,
                table.c.payload.is_not(None),
                table.c.processed_at < accepted_before,
                table.c.chat_id.is_not(None),
            )
            .distinct()
        )

    async def prune(self, older_than: dt.timedelta, *, now: dt.datetime | None = None) -> int:
        """Forget settled claims older than `older_than` (Telegram redelivers for at most a
        day); queued updates stay until settled. Returns the number of rows removed."""
        cutoff = (now or utcnow()) - older_than
        result = await self.session.execute(
            delete(ProcessedUpdate)
            .where(ProcessedUpdate.processed_at < cutoff, ProcessedUpdate.payload.is_(None))
            .returning(ProcessedUpdate.update_id)
        )
        return len(result.all())


async def settle_in(session: AsyncSession, receipts: Sequence[UpdateReceipt]) -> None:
    """Settle `receipts` inside the session's transaction (the one storing their effect);
    call `mark_settled` after it commits."""
    for statement in settle_statements(session, receipts):
        await session.execute(*statement)


def settle_statements(
    session: AsyncSession, receipts: Sequence[UpdateReceipt]
) -> list[Statement]:
    """`settle_in` as statements to run (batch.py)."""
    by_bot: dict[int, list[int]] = {}
    for receipt in receipts:
        if not receipt.settled:
            by_bot.setdefault(receipt.bot_id, []).append(receipt.update_id)
    return [UpdateRepository(session, bot_id).settle_statement(update_ids)
            for bot_id, update_ids in by_bot.items()]


def mark_settled(receipts: Sequence[UpdateReceipt]) -> None:
    for receipt in receipts:
        receipt.settled = True
