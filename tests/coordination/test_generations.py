"""The generation cap shared by replicas: two clients (two "replicas", each its own Redis
connection) never stream more than the cap together from the fake Yandex server; with Redis
gone, generations go on under each process's own cap, and sharing resumes when it is back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from bot.coordination import SharedGenerationLimit
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
    )  # fmt: skip


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
