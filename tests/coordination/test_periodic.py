"""The pace of calls that may ride (bot/coordination/periodic.py), on looptime's virtual
clock: once a period whether the call rides, waits until it is due, or is slow."""

from __future__ import annotations

import asyncio

import pytest

from bot.coordination import Lease, LocalCoordinator
from bot.coordination.leases import LeaseGroup
from bot.coordination.periodic import Period, sweep_in_turns


async def _calls(period: Period, took: float, n: int) -> list[tuple[float, float]]:
    """(when each call was made, its `within`), each call lasting `took` (negative: as long
    as its `within`, as one that rode with nothing and went when due)."""
    loop = asyncio.get_running_loop()
    made = []
    for _ in range(n):
        within = await period.tick()
        made.append((round(loop.time(), 6), round(within, 6)))
        await asyncio.sleep(within if took < 0 else took)
    return made


@pytest.mark.looptime
async def test_a_call_answered_at_once_keeps_the_pace() -> None:
    start = asyncio.get_running_loop().time()
    made = await _calls(Period(2.0), 0.0, 3)
    assert [(t - start, w) for t, w in made] == [(1.0, 1.0), (3.0, 1.0), (5.0, 1.0)]


@pytest.mark.looptime
async def test_a_call_that_waits_until_due_keeps_the_pace() -> None:
    start = asyncio.get_running_loop().time()
    made = await _calls(Period(2.0), -1, 3)
    assert [(t - start, w) for t, w in made] == [(1.0, 1.0), (3.0, 1.0), (5.0, 1.0)]


@pytest.mark.looptime
async def test_after_a_slow_call_the_next_is_due_at_once() -> None:
    start = asyncio.get_running_loop().time()
    made = await _calls(Period(2.0), 5.0, 3)
    # Made at 1 and answered at 6: past the due time of 4, so the next goes at once.
    assert [(t - start, w) for t, w in made] == [(1.0, 1.0), (6.0, 0.0), (11.0, 0.0)]


class Counting(LocalCoordinator):
    def __init__(self) -> None:
        super().__init__(clock=asyncio.get_running_loop().time)
        self.renewals: list[float] = []

    async def renew_leases(
        self, leases: object, ttl: float, *, release: object = (), within: float = 0.0
    ) -> list[bool]:
        self.renewals.append(asyncio.get_running_loop().time())
        return await super().renew_leases(leases, ttl, release=release)  # type: ignore[arg-type]


@pytest.mark.looptime
async def test_a_lease_group_renews_once_a_third_of_the_ttl() -> None:
    store = Counting()
    group = LeaseGroup(store, 6.0, clock=asyncio.get_running_loop().time)
    lease = await store.acquire_lease("chat:1", "replica-a", 6.0)
    assert isinstance(lease, Lease)
    start = asyncio.get_running_loop().time()
    kept = group.keep(lease)
    await asyncio.sleep(10.5)
    assert [round(t - start, 6) for t in store.renewals] == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert not kept.lost.is_set()
    await group.aclose()


async def _sweeps(live: int, seconds: float, fail: bool = False) -> list[float]:
    """When a `sweep_in_turns` of every 3 s swept, with `live` replicas, over `seconds`."""
    loop = asyncio.get_running_loop()
    start, swept = loop.time(), []

    async def sweep() -> None:
        swept.append(loop.time() - start)
        if fail:
            raise ConnectionError("the database is away")

    task = asyncio.create_task(sweep_in_turns(sweep, "test rows", every=3.0,
                                              replicas=lambda: live))
    await asyncio.sleep(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return swept


@pytest.mark.looptime
@pytest.mark.parametrize("live", [1, 3])
async def test_the_live_replicas_take_turns_at_a_sweep(live: int) -> None:
    """Each replica sweeps every 3 s times the live replicas, jittered by a quarter: the
    cluster sweeps about every 3 s however many there are."""
    swept = await _sweeps(live, 300.0)
    gaps = [b - a for a, b in zip([0.0, *swept], swept, strict=False)]
    assert all(3.0 * live * 0.75 <= gap <= 3.0 * live * 1.25 for gap in gaps), gaps
    assert 300 / (3.0 * live * 1.25) - 1 <= len(swept) <= 300 / (3.0 * live * 0.75)


@pytest.mark.looptime
async def test_a_failed_sweep_is_logged_and_the_next_one_still_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    swept = await _sweeps(1, 30.0, fail=True)
    assert len(swept) >= 30 / 3.75 - 1
    assert sum("sweeping for test rows failed" in r.getMessage() for r in caplog.records) == len(
        swept
    )
