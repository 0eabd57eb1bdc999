"""Image jobs, exactly-once update claims, daily usage counters."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.features.images.models import ImageJobStatus
from bot.features.images.repository import ImageJobRepository
from bot.storage.database import Database
from bot.storage.models import utcnow
from bot.storage.repositories import (
    DailyCounts,
    UpdateRepository,
    UsageCount,
    UsageRepository,
)

DAY = dt.date(2026, 11, 22)


async def test_image_job_lifecycle_and_resume_list(database: Database) -> None:
    async with database.session() as session:
        jobs = ImageJobRepository(session)
        first = await jobs.create(-5, 7, "a cat", {"seed": 3, "aspect_ratio": [16, 9]})
        second = await jobs.create(-5, 8, "a dog", model="yandex-art/latest")
        assert first.status is ImageJobStatus.PENDING
        await jobs.set_status_message(first.id, 555)
        await jobs.set_operation(first.id, "fbveu1pdn0kn7cepcnll")
    async with database.session() as session:
        unfinished = await ImageJobRepository(session).unfinished()
        assert [(j.id, j.status) for j in unfinished] == [
            (first.id, ImageJobStatus.RUNNING),
            (second.id, ImageJobStatus.PENDING),
        ]
        assert unfinished[0].operation_id == "fbveu1pdn0kn7cepcnll"
        assert unfinished[0].options == {"seed": 3, "aspect_ratio": [16, 9]}
        assert unfinished[0].status_message_id == 555
        assert unfinished[0].finished_at is None
        later, earlier = utcnow() + dt.timedelta(seconds=1), utcnow() - dt.timedelta(seconds=60)
        jobs = ImageJobRepository(session)
        assert await jobs.unfinished_ids() == [first.id, second.id]
        assert await jobs.unfinished_ids(later) == [first.id, second.id]
        assert await jobs.unfinished_ids(earlier) == []  # the sweep's: not old enough yet
    async with database.session() as session:
        jobs = ImageJobRepository(session)
        done = await jobs.set_status(first.id, ImageJobStatus.DELIVERED, result_message_id=556)
        assert done.finished_at is not None
        refused = await jobs.set_status(second.id, ImageJobStatus.REFUSED, error="moderation")
        assert refused.error == "moderation"
    async with database.session() as session:
        jobs = ImageJobRepository(session)
        assert await jobs.unfinished() == []
        assert [j.id for j in await jobs.for_user(7)] == [first.id]
        with pytest.raises(LookupError):
            await jobs.set_status(999, ImageJobStatus.FAILED)


async def test_claim_is_true_once(database: Database) -> None:
    async with database.session() as session:
        updates = UpdateRepository(session)
        assert await updates.claim(100)
        assert not await updates.claim(100)
        assert await updates.claim(101)
        assert await UpdateRepository(session, bot_id=2).claim(100)  # another bot's id space
    async with database.session() as session:
        assert not await UpdateRepository(session).claim(101)


async def test_claim_is_released_by_a_rollback(database: Database) -> None:
    async def fail_after_claim() -> None:
        async with database.session() as session:
            assert await UpdateRepository(session).claim(7)
            raise RuntimeError("handler crashed")

    with pytest.raises(RuntimeError):
        await fail_after_claim()
    async with database.session() as session:
        assert await UpdateRepository(session).claim(7)


async def test_concurrent_claims_of_one_update_have_one_winner(database: Database) -> None:
    async def claim() -> bool:
        async with database.session() as session:
            return await UpdateRepository(session).claim(4242)

    results = await asyncio.gather(*(claim() for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]


async def test_prune_forgets_old_claims(database: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    async with database.session() as session:
        updates = UpdateRepository(session)
        await updates.claim(1)
        await updates.claim(2)
    async with database.session() as session:
        updates = UpdateRepository(session)
        assert await updates.prune(dt.timedelta(days=1), now=now) == 0
        assert await updates.prune(dt.timedelta(days=1), now=now + dt.timedelta(days=2)) == 2
        assert await updates.claim(1)


async def test_usage_add_is_an_upsert(database: Database) -> None:
    async with database.session() as session:
        usage = UsageRepository(session)
        assert await usage.for_user(1, DAY) == UsageCount(0, 0)
        await usage.add(1, DAY, tokens=100)
        await usage.add(1, DAY, tokens=50, reasoning_tokens=20)
        await usage.add(2, DAY, tokens=3)
        await usage.add(1, DAY + dt.timedelta(days=1), tokens=7)
    async with database.session() as session:
        usage = UsageRepository(session)
        assert await usage.for_user(1, DAY) == UsageCount(tokens=150, reasoning_tokens=20)
        assert await usage.totals(DAY) == UsageCount(tokens=153, reasoning_tokens=20)
        assert await usage.totals(DAY - dt.timedelta(days=1)) == UsageCount()


async def test_concurrent_usage_adds_are_not_lost(database: Database) -> None:
    async def charge() -> None:
        async with database.session() as session:
            await UsageRepository(session).add(9, DAY, tokens=10)
            await DailyCounts(session).add(9, DAY, "pictures")

    await asyncio.gather(*(charge() for _ in range(20)))
    async with database.read_session() as session:
        assert await UsageRepository(session).for_user(9, DAY) == UsageCount(200)
        assert await DailyCounts(session).for_user(9, DAY, "pictures") == 20


async def test_daily_counts_add_up_per_user_day_and_kind(database: Database) -> None:
    later = DAY + dt.timedelta(days=3)
    async with database.session() as session:
        counts = DailyCounts(session)
        assert await counts.for_user(1, DAY, "pictures") == 0
        await counts.add(1, DAY, "pictures")
        await counts.add(1, DAY, "pictures", 2)
        await counts.add(1, DAY, "seconds", 40)
        await counts.add(2, DAY, "pictures", 5)
        await counts.add(3, DAY, "pictures", 0)  # nothing counted: no row
        await counts.add(3, later, "pictures")
    async with database.read_session() as session:
        counts = DailyCounts(session)
        assert await counts.for_user(1, DAY, "pictures") == 3
        assert await counts.for_user(1, DAY, "seconds") == 40
        assert await counts.of_user(1, DAY, ("pictures", "seconds", "other")) == {
            "pictures": 3, "seconds": 40, "other": 0}
        assert await counts.total(DAY, "pictures") == 8
        assert await counts.total(DAY, "other") == 0
        assert await counts.since(DAY, "pictures") == (9, 3)
        assert await counts.since(later, "pictures") == (1, 1)
        assert await counts.since(later + dt.timedelta(days=1), "pictures") == (0, 0)
