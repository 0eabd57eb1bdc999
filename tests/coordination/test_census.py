"""The replica census: live replicas counted on both coordinators; a replica that stops (or
dies: its slot expires) stops counting; the minimum holds before the first count."""

from __future__ import annotations

import asyncio

import pytest

from bot.coordination.census import Census
from tests.coordination.conftest import Factory


@pytest.mark.slow
async def test_counts_live_replicas(coordinators: Factory) -> None:
    a = Census(coordinators(), "a", ttl=0.6)
    b = Census(coordinators(), "b", ttl=0.6)
    dead = Census(coordinators(), "dead", ttl=0.6, minimum=3)
    assert dead.known == 3  # nothing counted yet: the minimum
    assert await a.count() == 1
    assert await b.count() == 2
    assert await dead.count() == 3
    await b.stop()  # gives its slot back
    assert await a.count() == 2
    await asyncio.sleep(0.7)  # "dead" never renewed: its slot expired; a renews by counting
    assert await a.count() == 1
    assert a.known == 1
    await a.stop()
