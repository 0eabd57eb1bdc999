"""Issue 67: a replica cut off from the store admits no more than its share of the generation
cap as the census counts now, and one that ran generations while cut off (started while Redis
was away) does not take a slot on the count of a store that came back empty. The in-process
store that can be away, on looptime's clock."""

from __future__ import annotations

import asyncio

import pytest

from bot.coordination import SharedGenerationLimit
from tests.coordination.test_generations import FOLDER, AwayStore, Running


@pytest.mark.looptime
async def test_the_local_cap_follows_the_census_from_one_outage_to_the_next() -> None:
    """Sized at the first outage (two replicas: a share of two), the local cap kept that size
    in the next one although the census had counted four replicas since (a share of one):
    together they admitted twice the cap."""
    loop = asyncio.get_running_loop()
    store = AwayStore(loop.time)
    counted = [2]
    cap = SharedGenerationLimit(store, 4, ttl=3.0, replicas=lambda: counted[0])
    first, second = Running(1), Running(1)
    store.away = True
    await asyncio.gather(*(first.generation(cap, 0, 1.0) for _ in range(4)))
    assert first.most == 2
    store.away = False
    await first.generation(cap, 0, 1.0)  # shared again
    counted[0] = 4  # the census counts two replicas more
    store.away = True
    await asyncio.gather(*(second.generation(cap, 0, 1.0) for _ in range(4)))
    assert second.most == 1
    await cap.aclose()


@pytest.mark.looptime
async def test_a_replica_started_while_the_store_was_away_waits_for_the_recount() -> None:
    """It ran a generation under its share while the store was away, and the store came back
    empty while another replica streamed: its first ask found nothing to compare with and was
    let in on the emptied count (three generations under a cap of two). Having been cut off,
    it now looks for the folder's mark, and starts the recount when it is gone."""
    loop = asyncio.get_running_loop()
    store = AwayStore(loop.time)
    old, new = (SharedGenerationLimit(store, 2, ttl=3.0, replicas=lambda: 2) for _ in range(2))
    running = Running(2)
    streaming = asyncio.create_task(running.generation(old, 0, 5.0))
    await asyncio.sleep(0.1)
    store.away = True
    await running.generation(new, 1, 0.2)  # started while Redis was away
    store.forget(f"generations:{FOLDER}")  # Redis is back, empty: the old one still streams
    store.away = False
    late = [asyncio.create_task(running.generation(new, 1, 1.0)) for _ in range(2)]
    await asyncio.gather(streaming, *late)
    assert running.most == 2
    for cap in (old, new):
        await cap.aclose()
