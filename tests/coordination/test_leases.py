"""Leases on both coordinators: one holder, renewal, expiry and takeover, fencing tokens."""

from __future__ import annotations

import asyncio

import pytest

from bot.coordination import (
    Coordinator,
    Lease,
    LeaseGroup,
    LeaseKeeper,
    held_lease,
    run_while_held,
)
from tests.coordination.conftest import Factory


async def test_one_holder_at_a_time(coordinator: Coordinator) -> None:
    first = await coordinator.acquire_lease("chat:1", "a", 5.0)
    assert first is not None
    assert await coordinator.acquire_lease("chat:1", "b", 5.0) is None
    assert await coordinator.lease_token("chat:1") == first.token
    # Another name is independent.
    assert await coordinator.acquire_lease("chat:2", "b", 5.0) is not None


async def test_release_frees_and_the_next_token_is_larger(coordinator: Coordinator) -> None:
    first = await coordinator.acquire_lease("chat:1", "a", 5.0)
    assert first is not None
    assert await coordinator.release_lease(first)
    assert await coordinator.lease_token("chat:1") is None
    second = await coordinator.acquire_lease("chat:1", "b", 5.0)
    assert second is not None
    assert second.token > first.token
    # The old grant can neither renew nor release what is now someone else's.
    assert not await coordinator.renew_lease(first, 5.0)
    assert not await coordinator.release_lease(first)
    assert await coordinator.lease_token("chat:1") == second.token


async def test_expired_lease_is_taken_over(coordinator: Coordinator) -> None:
    dead = await coordinator.acquire_lease("poller", "dead", 0.2)
    assert dead is not None
    await asyncio.sleep(0.3)
    new = await coordinator.acquire_lease("poller", "alive", 5.0)
    assert new is not None
    assert new.token > dead.token
    assert not await coordinator.renew_lease(dead, 5.0)


@pytest.mark.slow
async def test_renewal_keeps_the_lease(coordinator: Coordinator) -> None:
    lease = await coordinator.acquire_lease("chat:1", "a", 0.6)
    assert lease is not None
    for _ in range(4):
        await asyncio.sleep(0.2)
        assert await coordinator.renew_lease(lease, 0.6)
    assert await coordinator.acquire_lease("chat:1", "b", 0.6) is None


async def test_contention_grants_each_lease_once(coordinators: Factory) -> None:
    clients = [coordinators() for _ in range(5)]

    async def grab(i: int) -> int | None:
        lease = await clients[i % 5].acquire_lease("chat:7", f"owner{i}", 5.0)
        return None if lease is None else lease.token

    tokens = await asyncio.gather(*(grab(i) for i in range(40)))
    assert len([t for t in tokens if t is not None]) == 1


async def test_held_lease_serialises_holders(coordinators: Factory) -> None:
    """Several clients take turns on one lease: never two inside at once, nobody starves."""
    inside = 0
    most = 0
    done = 0

    async def worker(i: int) -> None:
        nonlocal inside, most, done
        async with held_lease(coordinators(), "chat:9", f"w{i}", 2.0, poll=0.01):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.02)
            inside -= 1
        done += 1

    await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(6))), 20)
    assert (most, done) == (1, 6)


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_keeper_notices_a_takeover(coordinators: Factory) -> None:
    holder, rival = coordinators(), coordinators()
    lease = await holder.acquire_lease("poller", "me", 1.0)
    assert lease is not None
    keeper = LeaseKeeper(holder, lease, 1.0)
    # Renewals every 0.33 s keep it alive well past its first expiry.
    keeper.start()
    try:
        await asyncio.sleep(1.5)
        assert not keeper.lost.is_set()
        assert await rival.acquire_lease("poller", "rival", 1.0) is None
        # Someone removes it behind the keeper's back (an operator, a flushed store).
        assert await holder.release_lease(lease)
        assert await rival.acquire_lease("poller", "rival", 5.0) is not None
        await asyncio.wait_for(keeper.lost.wait(), 2.0)
    finally:
        await keeper.stop()


async def test_run_while_held_runs_once_and_stops_when_the_lease_is_lost(
    coordinators: Factory,
) -> None:
    a, b = coordinators(), coordinators()
    started = asyncio.Event()
    finished: list[str] = []

    async def work() -> None:
        started.set()
        await asyncio.sleep(30)
        finished.append("a")  # never: the lease is lost first

    async def other() -> None:
        finished.append("b")

    held = asyncio.create_task(run_while_held(a, "image:1", "a", 0.6, work))
    await started.wait()
    # Held: nobody else runs what the lease guards.
    assert not await run_while_held(b, "image:1", "b", 0.6, other)
    # The holder's grant is taken away (as when its renewals cannot reach the store in
    # time and the lease expires): the keeper notices and the work is cancelled.
    token = await a.lease_token("image:1")
    assert token is not None
    assert await a.release_lease(Lease("image:1", "a", token))
    assert await asyncio.wait_for(held, 5) is True
    assert finished == []
    assert await run_while_held(b, "image:1", "b", 0.6, other)
    assert finished == ["b"]


@pytest.mark.slow
async def test_renew_leases_renews_each_still_held_in_one_call(coordinators: Factory) -> None:
    mine, theirs = coordinators(), coordinators()
    a = await mine.acquire_lease("chat:1", "me", 0.3)
    b = await mine.acquire_lease("chat:2", "me", 0.3)
    assert a is not None
    assert b is not None
    await asyncio.sleep(0.4)  # b expired, then another took it
    assert await theirs.acquire_lease("chat:2", "them", 5.0) is not None
    assert await mine.renew_leases([a, b], 5.0) == [False, False]  # a expired too
    c = await mine.acquire_lease("chat:3", "me", 0.3)
    assert c is not None
    assert await mine.renew_leases([c], 5.0) == [True]
    await asyncio.sleep(0.4)
    assert await theirs.acquire_lease("chat:3", "them", 5.0) is None  # renewed past 0.3 s
    assert await mine.renew_leases([], 5.0) == []


async def test_held_leases_says_which_are_held(coordinators: Factory) -> None:
    mine, theirs = coordinators(), coordinators()
    assert await mine.acquire_lease("chat:1", "me", 5.0) is not None
    assert await theirs.acquire_lease("chat:3", "them", 5.0) is not None
    assert await theirs.held_leases(["chat:1", "chat:2", "chat:3"]) == {"chat:1", "chat:3"}
    assert await theirs.held_leases([]) == set()


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_a_lease_group_keeps_many_leases_and_tells_each_loss(coordinators: Factory) -> None:
    mine, theirs = coordinators(), coordinators()
    group = LeaseGroup(mine, 1.0)  # renewals every 0.33 s, one call for the three
    leases = [await mine.acquire_lease(f"chat:{i}", "me", 1.0) for i in range(3)]
    assert all(lease is not None for lease in leases)
    kept = [group.keep(lease) for lease in leases if lease is not None]
    try:
        await asyncio.sleep(1.5)  # past the ttl: renewed together
        for i in range(3):
            assert await theirs.acquire_lease(f"chat:{i}", "them", 5.0) is None
        await kept[2].stop()  # this one leaves the group: it expires
        await asyncio.sleep(1.5)
        assert await theirs.acquire_lease("chat:2", "them", 5.0) is not None
        # Taken over behind the group's back (a release by force): only that one is lost.
        assert leases[0] is not None
        assert await mine.release_lease(leases[0])
        assert await theirs.acquire_lease("chat:0", "them", 5.0) is not None
        await asyncio.wait_for(kept[0].lost.wait(), 2.0)
        assert not kept[1].lost.is_set()
        assert not kept[2].lost.is_set()  # stopped, not lost
    finally:
        await group.aclose()


async def test_renew_leases_releases_what_it_is_given_in_the_same_call(
    coordinators: Factory,
) -> None:
    mine, theirs = coordinators(), coordinators()
    kept = await mine.acquire_lease("chat:1", "me", 5.0)
    done = await mine.acquire_lease("chat:2", "me", 5.0)
    lost = await mine.acquire_lease("chat:3", "me", 0.2)
    assert kept is not None
    assert done is not None
    assert lost is not None
    await asyncio.sleep(0.3)
    taken = await theirs.acquire_lease("chat:3", "them", 5.0)  # ours expired, theirs now
    assert taken is not None
    assert await mine.renew_leases([kept], 5.0, release=[done, lost]) == [True]
    assert await theirs.held_leases(["chat:1", "chat:2", "chat:3"]) == {"chat:1", "chat:3"}
    assert await theirs.lease_token("chat:3") == taken.token  # not ours to release
    assert await mine.renew_leases([], 5.0, release=[kept]) == []
    assert await theirs.held_leases(["chat:1"]) == set()


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_a_lease_group_releases_with_its_next_renewal_unless_taken_back(
    coordinators: Factory,
) -> None:
    mine, theirs = coordinators(), coordinators()
    group = LeaseGroup(mine, 0.9)  # renewals every 0.3 s
    leases = [await mine.acquire_lease(f"chat:{i}", "me", 0.9) for i in range(3)]
    kept = [group.keep(lease) for lease in leases if lease is not None]
    try:
        released = kept[0].release_soon()
        back = kept[1].release_soon()
        assert group.take_back(kept[1])  # its chat woke before the call went out
        assert back.done()
        assert not released.done()  # not a call of its own: it waits for the renewal
        await asyncio.wait_for(released, 1.0)
        assert await theirs.held_leases([f"chat:{i}" for i in range(3)]) == {"chat:1", "chat:2"}
        assert not group.take_back(kept[0])  # released: asking for it again is the way
        await asyncio.sleep(1.2)  # past the ttl: the one taken back is still renewed
        assert await theirs.acquire_lease("chat:1", "them", 5.0) is None
        assert not kept[1].lost.is_set()
        # Stopped while waiting for its release: nothing more is waited for.
        waiting = kept[2].release_soon()
        await kept[2].stop()
        assert waiting.done()
    finally:
        await group.aclose()
