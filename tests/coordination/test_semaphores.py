"""Semaphores with leases on both coordinators: the limit holds, dead holders' slots return;
the generation cap built on them holds its limit across clients and renews what it holds."""

from __future__ import annotations

import asyncio

import pytest

from bot.coordination import Coordinator, SharedGenerationLimit
from tests.coordination.conftest import Factory


async def test_limit_and_release(coordinator: Coordinator) -> None:
    for holder in ("a", "b", "c"):
        assert await coordinator.acquire_slot("gen", holder, limit=3, ttl=5.0)
    assert not await coordinator.acquire_slot("gen", "d", limit=3, ttl=5.0)
    assert await coordinator.slots_held("gen") == 3
    # A holder asking again keeps its one slot.
    assert await coordinator.acquire_slot("gen", "a", limit=3, ttl=5.0)
    await coordinator.release_slot("gen", "b")
    assert await coordinator.acquire_slot("gen", "d", limit=3, ttl=5.0)
    assert await coordinator.slots_held("gen") == 3


async def test_dead_holders_slots_come_back(coordinator: Coordinator) -> None:
    assert await coordinator.acquire_slot("gen", "dead", limit=1, ttl=0.2)
    assert not await coordinator.acquire_slot("gen", "alive", limit=1, ttl=5.0)
    await asyncio.sleep(0.3)
    assert await coordinator.acquire_slot("gen", "alive", limit=1, ttl=5.0)
    assert await coordinator.renew_slots("gen", ["dead", "alive"], 5.0) == [False, True]


async def test_a_slot_in_use_the_store_lost_is_counted_again_and_holds_new_grants(
    coordinator: Coordinator,
) -> None:
    """Redis back empty: a renewal with `rebuild` adds back what is still in use, and no new
    holder gets in while the other replicas count theirs (only those asking again do)."""
    assert await coordinator.acquire_slot("gen", "here", limit=3, ttl=5.0)
    # "lost" was in use but the store no longer has it (as after a restart).
    kept = await coordinator.renew_slots("gen", ["here", "lost"], 5.0, rebuild=5.0)
    assert kept == [True, False]
    assert await coordinator.slots_held("gen") == 2
    assert not await coordinator.acquire_slot("gen", "new", limit=3, ttl=5.0, short=5.0)
    assert await coordinator.acquire_slot("gen", "here", limit=3, ttl=5.0)  # its own: kept
    # A slot counted again goes back free, never to the holder asking short meanwhile.
    assert await coordinator.release_slot("gen", "lost", claim=0.0)
    assert await coordinator.slots_held("gen") == 1


async def test_an_ask_that_finds_a_used_semaphore_unknown_holds_new_grants(
    coordinator: Coordinator,
) -> None:
    """Redis back empty, asked before any renewal: an asker that used the semaphore before
    (`rebuild`) and finds it unknown starts the hold; one that never did (a first start) is
    let in, and marks it known, so later asks go on as usual."""
    assert not await coordinator.acquire_slot("gen", "a", limit=3, ttl=5.0, rebuild=5.0)
    assert not await coordinator.acquire_slot("gen", "b", limit=3, ttl=5.0)
    assert await coordinator.slots_held("gen") == 0
    assert await coordinator.acquire_slot("fresh", "a", limit=3, ttl=5.0)
    assert await coordinator.acquire_slot("fresh", "b", limit=3, ttl=5.0, rebuild=5.0)
    assert await coordinator.slots_held("fresh") == 2


@pytest.mark.slow
async def test_renewal_keeps_a_slot(coordinator: Coordinator) -> None:
    assert await coordinator.acquire_slot("gen", "a", limit=2, ttl=0.6)
    assert await coordinator.acquire_slot("gen", "b", limit=2, ttl=0.6)
    for _ in range(4):
        await asyncio.sleep(0.2)
        assert await coordinator.renew_slots("gen", ["a", "b"], 0.6) == [True, True]
    assert not await coordinator.acquire_slot("gen", "c", limit=2, ttl=0.6)
    assert await coordinator.renew_slots("gen", [], 0.6) == []


async def test_contention_respects_the_limit(coordinators: Factory) -> None:
    """Four clients, 24 generations, limit 3: never more than 3 at once, all of them run."""
    # Four replicas counted: no share to keep (3 // 4), every slot goes back to the store.
    caps = [SharedGenerationLimit(coordinators(), 3, ttl=2.0, replicas=lambda: 4)
            for _ in range(4)]
    running = 0
    most = 0
    done = 0

    async def generation(i: int) -> None:
        nonlocal running, most, done
        async with caps[i % 4].slot("folder"):
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.03)
            running -= 1
        done += 1

    await asyncio.wait_for(asyncio.gather(*(generation(i) for i in range(24))), 30)
    assert (most, done) == (3, 24)
    for cap in caps:
        await cap.aclose()


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_slot_outlives_its_ttl_while_held(coordinator: Coordinator) -> None:
    cap = SharedGenerationLimit(coordinator, 1, ttl=0.6)
    async with cap.slot("folder"):
        # Held in the store (not a local fallback); how long taking it took is the machine's.
        assert await coordinator.slots_held("generations:folder") == 1
        await asyncio.sleep(1.4)  # renewed every 0.2 s meanwhile
        assert not await coordinator.acquire_slot("generations:folder", "other", limit=1,
                                                  ttl=0.6)
    assert await coordinator.slots_held("generations:folder") == 0
    await cap.aclose()
