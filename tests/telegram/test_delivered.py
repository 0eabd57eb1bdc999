"""What follows a delivered answer outlasts a relinquish (a lost chat lease), not a /stop."""

from __future__ import annotations

import asyncio

import pytest

from bot.conversation import RELINQUISHED
from bot.telegram.delivered import outlast_relinquish


async def test_a_relinquish_waits_for_the_delivered_answer_to_be_noted_then_ends_the_job() -> None:
    steps: list[str] = []
    waiting = asyncio.Event()

    async def note() -> None:
        waiting.set()
        await asyncio.sleep(0.05)  # the database is slow to answer
        steps.append("noted")
        await asyncio.sleep(0)  # later awaits of the work are not cancelled either
        steps.append("followed up")

    job = asyncio.create_task(outlast_relinquish(note()))
    await waiting.wait()
    job.cancel(RELINQUISHED)
    with pytest.raises(asyncio.CancelledError) as raised:
        await job
    assert raised.value.args == (RELINQUISHED,)
    assert steps == ["noted", "followed up"]


async def test_a_stop_cancels_the_work_that_follows_delivery() -> None:
    cancelled = asyncio.Event()

    async def note() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    job = asyncio.create_task(outlast_relinquish(note()))
    await asyncio.sleep(0.01)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(job, 2)
    assert cancelled.is_set()


async def test_an_error_of_the_work_is_raised() -> None:
    async def note() -> None:
        raise ValueError("no database")

    with pytest.raises(ValueError, match="no database"):
        await outlast_relinquish(note())
