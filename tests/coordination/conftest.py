"""`coordinators`: a factory of coordinator clients that share state, once in-process (one
LocalCoordinator seen by every "client") and once on the real Redis (a separate connection
per client, as separate replicas have)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import pytest

from bot.coordination import Coordinator, LocalCoordinator
from bot.coordination.redisstore import RedisCoordinator

Factory = Callable[[], Coordinator]


@pytest.fixture(params=["local", "redis"])
async def coordinators(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    if request.param == "local":
        shared = LocalCoordinator()
        yield lambda: shared
        return
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    made: list[RedisCoordinator] = []

    def make() -> Coordinator:
        client = RedisCoordinator.from_url(url, prefix=prefix)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def coordinator(coordinators: Factory) -> Coordinator:
    return coordinators()


class Since:
    """Real time since the test's first call to the store, for bounds on the waits a bucket
    returns: a bucket's wait is its refill time less the time that passed since the tokens
    were taken, so a busy machine can only shorten it, never by more than this measured span
    (the window comes from what the test measured, not a figure chosen for a quiet machine)."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def about(self, wait: float, expected: float) -> bool:
        """`wait` is `expected` less at most the time since the start (and clock rounding)."""
        return expected - (time.monotonic() - self.started) - 0.005 <= wait <= expected + 0.005
