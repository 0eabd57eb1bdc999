"""The poller's lease on both coordinators: one leader, a standby takes over after death.

On the real Redis the tests assert order (the standby never leads while the leader lives, nor
before the dead leader's lease can have expired); how soon it takes over is checked exactly
on the in-process coordinator under looptime's virtual clock, where load cannot move it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.coordination import Coordinator, Leadership, LocalCoordinator
from tests.coordination.conftest import Factory

TTL = 1.5
POLL = 0.05
RENEW_EVERY = TTL / 3  # the keeper renews three times per lease


async def _leader_dies(make: Factory, clock: Callable[[], float]) -> tuple[float, int, int]:
    """The leader leads, a standby waits; the leader dies. Returns (seconds from its death to
    the standby's lead, the dead leader's token, the standby's token)."""
    first = Leadership(make(), "replica-1", ttl=TTL, poll=POLL)
    second = Leadership(make(), "replica-2", ttl=TTL, poll=POLL)
    lead = first.lead()
    keeper = await lead.__aenter__()
    standby = asyncio.create_task(_lead_once(second))
    await asyncio.sleep(2.0)
    assert not standby.done(), "the standby led while the leader was alive"
    # The leader dies: no more renewals and no release (as SIGKILL), so the lease expires.
    await keeper.stop()
    died = clock()
    token = await asyncio.wait_for(standby, 30)
    return clock() - died, keeper.lease.token, token


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_standby_takes_over_when_the_leader_dies(coordinators: Factory) -> None:
    took, old, new = await _leader_dies(coordinators, asyncio.get_running_loop().time)
    # Not before the lease can have expired (renewed at most RENEW_EVERY before the death);
    # a busy machine only makes this later.
    assert took >= TTL - RENEW_EVERY - 0.05
    assert new > old


@pytest.mark.looptime
async def test_the_takeover_comes_within_ttl_plus_poll_of_the_death() -> None:
    loop = asyncio.get_running_loop()
    shared = LocalCoordinator(clock=loop.time)
    took, old, new = await _leader_dies(lambda: shared, loop.time)
    assert TTL - RENEW_EVERY <= took <= TTL + POLL + 1e-6
    assert new > old


async def _clean_stop(make: Callable[[], Coordinator], ttl: float) -> asyncio.Task[int]:
    first = Leadership(make(), "replica-1", ttl=ttl, poll=POLL)
    second = Leadership(make(), "replica-2", ttl=ttl, poll=POLL)
    async with first.lead():
        standby = asyncio.create_task(_lead_once(second))
        await asyncio.sleep(0.2)
        assert not standby.done()
    return standby


async def test_a_clean_stop_hands_over_at_once(coordinators: Factory) -> None:
    ttl = 5.0
    standby = await _clean_stop(coordinators, ttl)
    # Released, not left to expire: the standby leads before the lease's own time (at least
    # ttl less one renewal period after the stop) could have run out.
    await asyncio.wait_for(standby, ttl - ttl / 3)


@pytest.mark.looptime
async def test_a_clean_stop_hands_over_within_one_poll() -> None:
    loop = asyncio.get_running_loop()
    shared = LocalCoordinator(clock=loop.time)
    standby = await _clean_stop(lambda: shared, 5.0)
    stopped = loop.time()
    await standby
    assert loop.time() - stopped <= POLL + 1e-6


async def _lead_once(leadership: Leadership) -> int:
    async with leadership.lead() as keeper:
        return keeper.lease.token
