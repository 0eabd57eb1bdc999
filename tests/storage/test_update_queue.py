"""The durable queue in processed_updates: batch claims, settling, the replay list, pruning,
and /forget (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.storage.database import Database
from bot.storage.repositories import (
    IncomingUpdate,
    PrivacyRepository,
    UpdateReceipt,
    UpdateRepository,
    mark_settled,
    settle_in,
)


def message(update_id: int, chat_id: int = 7) -> IncomingUpdate:
    return IncomingUpdate(update_id, chat_id, f'{{"update_id": {update_id}}}')


async def test_a_batch_claim_returns_only_the_new_ids(database: Database) -> None:
    async with database.session() as session:
        updates = UpdateRepository(session, bot_id=1)
        assert await updates.claim_many([message(10), IncomingUpdate(11)]) == {10, 11}
        # A repeated batch with one new update: only that one is claimed.
        assert await updates.claim_many([message(10), IncomingUpdate(11), message(12)]) == {12}
        assert await updates.claim_many([]) == set()
        assert await UpdateRepository(session, bot_id=2).claim_many([message(10)]) == {10}


async def test_pending_lists_queued_messages_in_delivery_order(database: Database) -> None:
    async with database.session() as session:
        updates = UpdateRepository(session)
        await updates.claim_many([message(30), IncomingUpdate(31), message(29, chat_id=-5)])
        await updates.claim_many([message(32)])
    async with database.session() as session:
        rows = await UpdateRepository(session).pending()
    assert [(r.update_id, r.chat_id) for r in rows] == [(29, -5), (30, 7), (32, 7)]
    assert rows[0].payload == '{"update_id": 29}'
    assert rows[0].accepted_at.tzinfo is not None


async def test_settling_in_the_effects_transaction(database: Database) -> None:
    async with database.session() as session:
        await UpdateRepository(session).claim_many([message(1), message(2), message(3)])
    receipts = [UpdateReceipt(0, 1), UpdateReceipt(0, 2)]
    async with database.session() as session:
        await settle_in(session, receipts)
        await session.rollback()  # the effect failed: nothing leaves the queue
    async with database.session() as session:
        assert [r.update_id for r in await UpdateRepository(session).pending()] == [1, 2, 3]
        await settle_in(session, receipts)
    mark_settled(receipts)
    assert all(r.settled for r in receipts)
    async with database.session() as session:
        assert [r.update_id for r in await UpdateRepository(session).pending()] == [3]
        await UpdateRepository(session).settle([3, 3])  # idempotent
        assert await UpdateRepository(session).pending() == []


async def test_prune_keeps_what_is_still_queued(database: Database) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    async with database.session() as session:
        await UpdateRepository(session).claim_many([message(1), IncomingUpdate(2)])
    async with database.session() as session:
        assert await UpdateRepository(session).prune(dt.timedelta(days=2), now=later) == 1
        assert [r.update_id for r in await UpdateRepository(session).pending()] == [1]


async def test_forget_drops_the_users_queued_messages(database: Database) -> None:
    async with database.session() as session:
        await UpdateRepository(session).claim_many([message(1, chat_id=7), message(2, -5)])
    async with database.session() as session:
        await PrivacyRepository(session).forget_user(7)
    async with database.session() as session:
        assert [r.update_id for r in await UpdateRepository(session).pending()] == [2]


async def test_concurrent_batches_claim_each_update_once(database: Database) -> None:
    async def claim(ids: range) -> set[int]:
        async with database.session() as session:
            return await UpdateRepository(session).claim_many([message(i) for i in ids])

    results = await asyncio.gather(*(claim(range(i, i + 10)) for i in range(0, 40, 5)))
    claimed = [i for result in results for i in result]
    assert sorted(claimed) == list(range(45))
