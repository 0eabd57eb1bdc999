"""Signals on both coordinators: the latest value with a growing sequence number, seen by
every client until it expires."""

from __future__ import annotations

import asyncio

from tests.coordination.conftest import Factory


async def test_latest_signal_until_it_expires(coordinators: Factory) -> None:
    a, b = coordinators(), coordinators()
    assert await b.last_signal("flood") is None
    first = await a.signal("flood", 2.5, ttl=0.3)
    assert await b.last_signal("flood") == (first, 2.5)
    second = await b.signal("flood", 7.0, ttl=0.3)
    assert second > first
    assert await a.last_signal("flood") == (second, 7.0)
    await asyncio.sleep(0.4)
    assert await a.last_signal("flood") is None
    assert await a.signal("flood", 1.0, ttl=1.0) > second  # numbers never go back
