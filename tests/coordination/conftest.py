"""`coordinators`: a factory of coordinator clients that share state, once in-process (one
LocalCoordinator seen by every "client") and once on the real Redis (a separate connection
per client, as separate replicas have)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from bot.coordination import Coordinator, LocalCoordinator
from bot.coordination.redisstore import RedisCoordinator, connect
from tests.coordination.proxy import TcpProxy

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


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[TcpProxy]:
    """A loopback proxy to the test's Redis that the test can cut (`stop`) and restore."""
    client = Redis.from_url(redis_url)
    kwargs = client.connection_pool.connection_kwargs
    await client.aclose()
    tcp = TcpProxy(kwargs.get("host", "127.0.0.1"), int(kwargs.get("port", 6379)))
    await tcp.start()
    yield tcp
    await tcp.stop()


@pytest.fixture
async def through_proxy(
    proxy: TcpProxy, redis_url: str, redis_prefix: str
) -> AsyncIterator[RedisCoordinator]:
    """A coordinator reaching Redis through `proxy`."""
    db = Redis.from_url(redis_url).connection_pool.connection_kwargs.get("db", 0)
    coordinator = RedisCoordinator(
        connect(f"redis://127.0.0.1:{proxy.port}/{db}", timeout=0.5), prefix=redis_prefix
    )
    yield coordinator
    await coordinator.aclose()
