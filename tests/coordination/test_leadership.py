"""The poller's lease on both coordinators: one leader, a standby takes over after death."""

from __future__ import annotations

import asyncio
import time

from bot.coordination import Leadership
from tests.coordination.conftest import Factory


async def test_standby_takes_over_when_the_leader_dies(coordinators: Factory) -> None:
    first = Leadership(coordinators(), "replica-1", ttl=1.5, poll=0.05)
    second = Leadership(coordinators(), "replica-2", ttl=1.5, poll=0.05)
    lead = first.lead()
    keeper = await lead.__aenter__()
    standby = asyncio.create_task(_lead_once(second))
    await asyncio.sleep(2.0)
    assert not standby.done(), "the standby led while the leader was alive"
    # The leader dies: no more renewals and no release (as SIGKILL), so the lease expires.
    await keeper.stop()
    died = time.monotonic()
    token = await asyncio.wait_for(standby, 5)
    # At most the lease's time (1.5 s, less the time since its last renewal) plus retries.
    assert time.monotonic() - died < 1.5 + 0.5
    assert token > keeper.lease.token


async def test_a_clean_stop_hands_over_at_once(coordinators: Factory) -> None:
    first = Leadership(coordinators(), "replica-1", ttl=5.0, poll=0.05)
    second = Leadership(coordinators(), "replica-2", ttl=5.0, poll=0.05)
    async with first.lead():
        standby = asyncio.create_task(_lead_once(second))
        await asyncio.sleep(0.2)
        assert not standby.done()
        stopped = time.monotonic()
    await asyncio.wait_for(standby, 5)
    assert time.monotonic() - stopped < 1.0


async def _lead_once(leadership: Leadership) -> int:
    async with leadership.lead() as keeper:
        return keeper.lease.token
