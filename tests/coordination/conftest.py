"""`coordinators`: a factory of coordinator clients that share state, once in-process (one
LocalCoordinator seen by every "client") and once on the real Redis (a separate connection
per client, as separate replicas have)."""

from __future__ import annotations

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
