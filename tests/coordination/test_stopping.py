"""Background tasks that talk to Redis are stopped even when a cancellation gets lost
(bot/coordination/stopping.py): the helper alone, then the lease keeper on the real Redis,
stopped at random moments around its renewals, as a chat's holder stops it."""

from __future__ import annotations

import asyncio
import random

import pytest

from bot.coordination import LeaseKeeper
from bot.coordination.redisstore import RedisCoordinator
from bot.coordination.stopping import stop_tasks


async def test_a_task_that_swallows_a_cancellation_is_cancelled_again() -> None:
    swallowed = 0

    async def loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # what a lost cancellation looks like from outside

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    async with asyncio.timeout(2):
        await stop_tasks(task, every=0.05)
    assert task.cancelled()
    assert swallowed == 1


async def test_stop_tasks_takes_nothing_and_finished_tasks() -> None:
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    await stop_tasks(None, done)
    assert done.done()
    assert not done.cancelled()


@pytest.mark.slow
async def test_the_lease_keeper_stops_whenever_it_is_stopped(
    redis_url: str, redis_prefix: str
) -> None:
    """Without stop_tasks about 1 stop in 10 that came during a renewal waited for ever: the
    chat's lease was renewed for good and its messages never answered."""
    coordinator = RedisCoordinator.from_url(redis_url, prefix=redis_prefix)  # as replicas do

    async def trial(i: int) -> None:
        lease = await coordinator.acquire_lease(f"chat:{i}", "me", 0.3)
        assert lease is not None
        keeper = LeaseKeeper(coordinator, lease, 0.3)  # renews every 0.1 s
        keeper.start()
        await asyncio.sleep(random.uniform(0.09, 0.13))  # around the first renewal
        stopping = asyncio.create_task(keeper.stop())  # as a chat's holder does
        done, _ = await asyncio.wait({stopping}, timeout=2)
        assert done, f"stop {i} still waiting for its renewer after 2 s"
        assert keeper._task is not None
        assert keeper._task.done()

    try:
        for round_ in range(15):  # 150 stops, 10 at a time
            await asyncio.gather(*(trial(round_ * 10 + i) for i in range(10)))
    finally:
        await coordinator.aclose()
