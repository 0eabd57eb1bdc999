"""RATE_LIMIT_PER_MINUTE across replicas: two replicas' limiters on one coordination store
allow a user the limit once, not once each (issue 45)."""

from __future__ import annotations

from bot.telegram.ratelimit import RateLimiter
from tests.coordination.conftest import Factory


async def test_replicas_share_one_rate_limit(coordinators: Factory) -> None:
    first = RateLimiter(3, coordinator=coordinators())
    second = RateLimiter(3, coordinator=coordinators())
    assert await first.check(1) == 0
    assert await second.check(1) == 0
    assert await first.check(1) == 0
    refused = [await second.check(1), await first.check(1)]
    assert all(0 < wait <= 60 for wait in refused)  # the fourth and fifth: over the limit
    assert await second.check(2) == 0  # another user has a limit of their own
    assert await RateLimiter(0, coordinator=coordinators()).check(1) == 0  # 0: off
