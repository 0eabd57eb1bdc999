"""Token buckets on both coordinators: burst, refill, the wait they return, contention."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from bot.coordination import Coordinator, spend
from tests.coordination.conftest import Factory


async def test_burst_then_wait(coordinator: Coordinator) -> None:
    for _ in range(3):
        assert await coordinator.take("b", rate=2.0, burst=3.0) == 0.0
    wait = await coordinator.take("b", rate=2.0, burst=3.0)
    # Empty: one token takes 1/rate = 0.5 s (a little less, time passed since).
    assert 0.4 < wait <= 0.5
    # Without reserve nothing was taken: the same answer again.
    # (Had it been taken, the next one would wait 0.5 s longer.)
    assert await coordinator.take("b", rate=2.0, burst=3.0) == pytest.approx(wait, abs=0.2)


async def test_refill(coordinator: Coordinator) -> None:
    for _ in range(2):
        assert await coordinator.take("b", rate=10.0, burst=2.0) == 0.0
    assert await coordinator.take("b", rate=10.0, burst=2.0) > 0
    await asyncio.sleep(0.12)
    assert await coordinator.take("b", rate=10.0, burst=2.0) == 0.0


async def test_reserve_queues_callers(coordinator: Coordinator) -> None:
    assert await coordinator.take("b", rate=10.0, burst=1.0, reserve=True) == 0.0
    waits = [await coordinator.take("b", rate=10.0, burst=1.0, reserve=True) for _ in range(3)]
    # Each reservation waits one more token's time: about 0.1, 0.2, 0.3 s (less the time
    # between the calls); unreserved, each would wait about 0.1 s.
    assert 0.05 < waits[0] <= 0.1
    assert all(0.05 < later - earlier <= 0.1 for earlier, later in itertools.pairwise(waits))


async def test_cost_above_one(coordinator: Coordinator) -> None:
    assert await coordinator.take("b", rate=1.0, burst=5.0, cost=4.0) == 0.0
    wait = await coordinator.take("b", rate=1.0, burst=5.0, cost=4.0)
    assert wait == pytest.approx(3.0, abs=0.05)


async def test_contention_never_exceeds_the_budget(coordinators: Factory) -> None:
    """Five clients hammer one bucket for 0.6 s: the grants fit burst + rate * elapsed."""
    clients = [coordinators() for _ in range(5)]
    granted = 0
    rate, burst = 20.0, 5.0
    started = time.monotonic()

    async def hammer(client: Coordinator) -> None:
        nonlocal granted
        while time.monotonic() - started < 0.6:
            if await client.take("bot", rate=rate, burst=burst) == 0.0:
                granted += 1
            await asyncio.sleep(0.002)

    await asyncio.gather(*(hammer(c) for c in clients))
    elapsed = time.monotonic() - started
    assert granted <= burst + rate * elapsed + 1
    # And the budget was used, not starved: at least most of what the rate allows.
    assert granted >= burst + rate * 0.6 * 0.7


async def test_spend_paces_callers(coordinators: Factory) -> None:
    clients = [coordinators() for _ in range(3)]
    started = time.monotonic()
    await asyncio.gather(
        *(spend(clients[i % 3], "chat:5", rate=20.0, burst=1.0) for i in range(9))
    )
    # One from the burst, then 8 more at 20/s: about 0.4 s.
    assert 0.3 < time.monotonic() - started < 1.5
