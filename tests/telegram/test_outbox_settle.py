"""Telling the shared message window which calls were answered (outbox/shared.py): an answer
counts for the span after the answer however late the store hears of it, so answers wait for
the next admission to carry them, and only then get a call of their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bench.load_replicas import CountingProxy
from bot.coordination.redisstore import RedisCoordinator
from bot.telegram.outbox.budget import Priority
from bot.telegram.outbox.shared import SharedBudget

# Round trips counted here: kept off the worker of the test that flushes Redis's script cache
# (test_redis_outage.py), which would add a reload to a count.
pytestmark = pytest.mark.xdist_group("redis-scripts")


@pytest.fixture
async def counted(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[CountingProxy, Redis]]:
    host, port = redis_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    proxy = CountingProxy(host, int(port))
    await proxy.start()
    raw = Redis.from_url(redis_url)
    try:
        yield proxy, raw
    finally:
        await raw.aclose()
        await proxy.close()


@pytest.mark.slow
async def test_answers_ride_on_the_next_admission_and_settle_alone_only_later(
    counted: tuple[CountingProxy, Redis], redis_prefix: str
) -> None:
    proxy, raw = counted
    store = RedisCoordinator.from_url(f"redis://127.0.0.1:{proxy.port}/0", prefix=redis_prefix)
    budget = SharedBudget(store, limit=30, span=4.0, settle_after=2.0)
    try:
        first = budget.reserve(Priority.FINAL)
        assert first is not None
        await first
        before = proxy.writes  # the connection's set-up is behind us
        budget.sent()
        second = budget.reserve(Priority.FINAL)
        assert second is not None
        await second  # carries the first answer
        assert proxy.writes - before == 1
        budget.sent()
        answered = (await raw.time())[0]
        key = f"{redis_prefix}window:messages"
        # The second answer has nothing to ride on: it is told alone, settle_after later.
        while True:
            scores = [score for _, score in await raw.zrange(key, 0, -1, withscores=True)]
            if len(scores) == 2 and max(scores) < (answered + 10) * 1000:
                break  # both settled (an unsettled one counts `hold`, 30 s)
            await asyncio.sleep(0.05)
        assert proxy.writes - before == 2  # one admission, one settle: not two of each
        # Told 2 s late, it still counts until 4 s after its answer, not 4 s after the telling.
        assert max(scores) <= (answered + 1) * 1000 + 4000 + 300
    finally:
        await budget.aclose()
        await store.aclose()
