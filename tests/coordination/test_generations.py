"""The generation cap shared by replicas: two clients (two "replicas", each its own Redis
connection) never stream more than the cap together from the fake Yandex server; with Redis
gone, generations go on under each process's own cap, and sharing resumes when it is back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from bot.coordination import LocalCoordinator, SharedGenerationLimit
from bot.coordination.redisstore import RedisCoordinator, connect
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatMessage
from tests.coordination.proxy import TcpProxy
from tests.fakes.foundation_models_server import FakeFoundationModels

FOLDER = "b1gshared"


@pytest.fixture
async def fm() -> AsyncIterator[FakeFoundationModels]:
    async with FakeFoundationModels(api_key="k", folder_id=FOLDER) as server:
        server.default_chunks = 4
        server.default_interval = 0.1
        yield server


async def stream_all(clients: list[FoundationModelsClient], n: int) -> list[str]:
    async def one(i: int) -> str:
        client = clients[i % len(clients)]
        messages = [ChatMessage("user", f"q{i}")]
        return [s async for s in client.stream(messages, model="yandexgpt/latest")][-1].text

    return await asyncio.gather(*(one(i) for i in range(n)))


def client_for(fm: FakeFoundationModels, limit: SharedGenerationLimit) -> FoundationModelsClient:
    return FoundationModelsClient(
        folder_id=FOLDER, auth=ApiKeyAuth("k"), llm_url=fm.url, operation_url=fm.url,
        max_concurrent_generations=100, generation_limit=limit,
    )


async def test_two_replicas_share_one_cap(
    fm: FakeFoundationModels, redis_url: str, redis_prefix: str
) -> None:
    coordinators = [RedisCoordinator.from_url(redis_url, prefix=redis_prefix) for _ in range(2)]
    limits = [SharedGenerationLimit(c, 2) for c in coordinators]
    clients = [client_for(fm, limit) for limit in limits]
    try:
        running = asyncio.create_task(stream_all(clients, 8))
        depths = []
        while not running.done():
            depths.append(sum(limit.waiting for limit in limits))
            await asyncio.sleep(0.005)
        texts = await asyncio.wait_for(running, 60)
        # While two stream, the other six wait: what fmbot_queue_depth{queue="generations"} shows.
        assert max(depths) >= 6
        assert sum(limit.waiting for limit in limits) == 0
    finally:
        for client in clients:
            await client.aclose()
        for coordinator in coordinators:
            await coordinator.aclose()
    assert texts == [f"Echo: q{i}" for i in range(8)]
    assert fm.max_active_generations == 2


async def test_redis_away_caps_each_replica_alone_then_shares_again(
    fm: FakeFoundationModels, redis_url: str, redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = TcpProxy("127.0.0.1", int(redis_url.rsplit(":", 1)[1].split("/")[0]))
    await proxy.start()
    coordinator = RedisCoordinator(connect(f"redis://127.0.0.1:{proxy.port}/0", timeout=0.3),
                                   prefix=redis_prefix)
    client = client_for(fm, SharedGenerationLimit(coordinator, 2))
    caplog.set_level(logging.INFO, "bot.coordination")
    try:
        await proxy.stop()
        assert await asyncio.wait_for(stream_all([client], 4), 60) == [
            f"Echo: q{i}" for i in range(4)
        ]
        assert fm.max_active_generations == 2  # the local cap of the same size
        await proxy.start()
        assert await stream_all([client], 1) == ["Echo: q0"]
    finally:
        await client.aclose()
        await coordinator.aclose()
        await proxy.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("capping this replica alone" in m for m in messages) == 1, messages
    assert "generation cap: shared again" in messages


class CountingStore(LocalCoordinator):
    """The in-process store, counting how often a slot is asked for (a replica's Redis calls)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(clock)
        self.asks = 0

    async def acquire_slot(self, semaphore: str, holder: str, *, limit: int, ttl: float) -> bool:
        self.asks += 1
        return await super().acquire_slot(semaphore, holder, limit=limit, ttl=ttl)


@pytest.mark.looptime
async def test_one_generation_per_replica_asks_for_a_slot_and_the_rest_queue_in_order() -> None:
    loop = asyncio.get_running_loop()
    store = CountingStore(loop.time)
    limit = SharedGenerationLimit(store, 1)
    started = loop.time()
    order: list[int] = []

    async def generation(i: int, hold: float) -> None:
        async with limit.slot(FOLDER):
            order.append(i)
            await asyncio.sleep(hold)

    first = asyncio.create_task(generation(0, 10.0))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(generation(i, 1.0)) for i in range(1, 21)]
    await asyncio.gather(first, *queued)
    assert order == list(range(21))
    # One asker at a time, every 0.5 s at most (another replica's release tells no one), plus
    # one ask per grant: about 80 over the 29 s. Twenty waiters each polling every 0.5 s would
    # ask some 700 times (each waits 10 s and more).
    assert store.asks <= 29 / 0.5 + 21 + 10, store.asks
    # A release here wakes the asker at once (virtual time: exact): no slot stood idle.
    assert loop.time() - started == pytest.approx(10.0 + 20 * 1.0, abs=0.01)
    assert limit.waiting == 0
