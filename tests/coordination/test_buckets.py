"""Token buckets on both coordinators: burst, refill, the wait they return, contention."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.coordination import Coordinator, spend
from tests.coordination.conftest import Factory, Since


async def test_burst_then_wait(coordinator: Coordinator) -> None:
    since = Since()
    for _ in range(3):
        assert await coordinator.take("b", rate=2.0, burst=3.0) == 0.0
    wait = await coordinator.take("b", rate=2.0, burst=3.0)
    # Empty: one token takes 1/rate = 0.5 s (less the time passed since).
    assert since.about(wait, 0.5), wait
    # Without reserve nothing was taken: the same answer again.
    # (Had it been taken, the next one would wait 0.5 s longer.)
    again = await coordinator.take("b", rate=2.0, burst=3.0)
    assert since.about(again, 0.5), again


async def test_refill(coordinator: Coordinator) -> None:
    for _ in range(2):
        assert await coordinator.take("b", rate=10.0, burst=2.0) == 0.0
    assert await coordinator.take("b", rate=10.0, burst=2.0) > 0
    await asyncio.sleep(0.12)
    assert await coordinator.take("b", rate=10.0, burst=2.0) == 0.0


async def test_reserve_queues_callers(coordinator: Coordinator) -> None:
    since = Since()
    assert await coordinator.take("b", rate=10.0, burst=1.0, reserve=True) == 0.0
    waits = [await coordinator.take("b", rate=10.0, burst=1.0, reserve=True) for _ in range(3)]
    # Each reservation waits one more token's time: 0.1, 0.2, 0.3 s less the time since the
    # first; unreserved, each would wait at most 0.1 s.
    for n, wait in enumerate(waits, start=1):
        assert since.about(wait, 0.1 * n), waits


async def test_cost_above_one(coordinator: Coordinator) -> None:
    since = Since()
    assert await coordinator.take("b", rate=1.0, burst=5.0, cost=4.0) == 0.0
    wait = await coordinator.take("b", rate=1.0, burst=5.0, cost=4.0)
    assert since.about(wait, 3.0), wait


@pytest.mark.slow
async def test_contention_never_exceeds_the_budget(coordinators: Factory) -> None:
    """Five clients hammer one bucket until 15 grants: never faster than burst + rate allows.

    The budget side is a lower bound on time, which a busy machine cannot break (it only makes
    the clients slower). The other side, that the budget is used and not starved, is a
    generous deadline: a bucket that stopped refilling would never reach 15 grants.
    """
    clients = [coordinators() for _ in range(5)]
    rate, burst, target = 20.0, 5.0, 15
    granted = 0
    grant_times: list[float] = []
    started = time.monotonic()

    async def hammer(client: Coordinator) -> None:
        nonlocal granted
        while granted < target:
            if await client.take("bot", rate=rate, burst=burst) == 0.0:
                granted += 1
                grant_times.append(time.monotonic() - started)
            await asyncio.sleep(0.002)

    async with asyncio.timeout(10):  # 0.5 s at the rate; twenty times that is starvation
        await asyncio.gather(*(hammer(c) for c in clients))
    # The n-th grant beyond the burst cannot come before (n - burst) / rate seconds have
    # passed since the first take (a little slack for the clock read before the first call).
    for n, at in enumerate(sorted(grant_times), start=1):
        assert at >= (n - burst) / rate - 0.02, (n, at, sorted(grant_times))


async def test_spend_paces_callers(coordinators: Factory) -> None:
    clients = [coordinators() for _ in range(3)]
    since = Since()
    waits = await asyncio.gather(
        *(spend(clients[i % 3], "chat:5", rate=20.0, burst=1.0) for i in range(9))
    )
    # One from the burst, then 8 more at 20/s, reserved in turn: the last waits its turn
    # (0.4 s from the first take, less the time since), and nobody waits beyond it.
    assert since.about(max(waits), 0.4), waits
    assert time.monotonic() - since.started >= 0.4 - 0.005  # they did wait
