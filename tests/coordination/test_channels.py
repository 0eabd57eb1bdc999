"""Channels (publish / subscribe) on both coordinators, then the Redis subscription through
outages: Redis gone and back, and a partition that leaves the connection half-open."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.coordination import GAP, Gap, Subscription
from bot.coordination.redisstore import RedisCoordinator
from tests.coordination.conftest import Factory
from tests.coordination.proxy import TcpProxy


class Received:
    """A subscription iterated by a task of its own, as a replica does."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.payloads: list[str | Gap] = []
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for payload in self.subscription:
            self.payloads.append(payload)

    async def until(self, count: int, within: float = 3.0) -> list[str | Gap]:
        async with asyncio.timeout(within):
            while len(self.payloads) < count:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        return self.payloads

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.subscription.aclose()


async def test_every_subscriber_gets_what_is_published_in_order(coordinators: Factory) -> None:
    a, b, c = coordinators(), coordinators(), coordinators()
    first, second = Received(a.subscribe("chats")), Received(b.subscribe("chats"))
    other = Received(b.subscribe("images"))
    try:
        for received in (first, second, other):
            await asyncio.wait_for(received.subscription.wait_subscribed(), 3)
        assert await c.publish("chats", "wake 1") == 2
        assert await c.publish("chats", "stop 1 7") == 2
        assert await first.until(2) == ["wake 1", "stop 1 7"]
        assert await second.until(2) == ["wake 1", "stop 1 7"]
        await asyncio.sleep(0.1)
        assert other.payloads == []
    finally:
        await first.close()
        await other.close()
    # Closed: it gets nothing more, and the channel counts only who still listens.
    try:
        assert await c.publish("chats", "wake 2") == 1
        assert await second.until(3) == ["wake 1", "stop 1 7", "wake 2"]
        assert first.payloads == ["wake 1", "stop 1 7"]
    finally:
        await second.close()
    assert await c.publish("chats", "wake 3") == 0


async def test_a_closed_subscription_ends_and_leaves_no_subscriber(
    coordinators: Factory,
) -> None:
    """As a replica shuts down: the iterating task is cancelled mid-read, then `aclose`."""
    publisher = coordinators()
    subscription = coordinators().subscribe("chats")
    received = Received(subscription)
    await asyncio.wait_for(subscription.wait_subscribed(), 3)
    await asyncio.sleep(0.05)  # the task waits in its read
    await received.close()
    assert received.task.cancelled()
    assert await publisher.publish("chats", "wake 1") == 0
    with pytest.raises(StopAsyncIteration):
        await anext(subscription)


async def test_channels_live_under_the_bots_prefix(redis_url: str, redis_prefix: str) -> None:
    mine = RedisCoordinator.from_url(redis_url, prefix=redis_prefix)
    other = RedisCoordinator.from_url(redis_url, prefix=redis_prefix + "other:")
    raw = Redis.from_url(redis_url)
    received = Received(mine.subscribe("chats"))
    try:
        await asyncio.wait_for(received.subscription.wait_subscribed(), 3)
        assert await other.publish("chats", "not for us") == 0
        assert await raw.publish(f"{redis_prefix}channel:chats", b"\xff wake") == 1
        assert await raw.publish(f"{redis_prefix}channel:chats", "wake 5") == 1
        assert await received.until(2) == ["\ufffd wake", "wake 5"]
    finally:
        await received.close()
        await raw.aclose()
        await mine.aclose()
        await other.aclose()


def lines(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if words in r.getMessage()]


async def subscribed_through(through_proxy: RedisCoordinator, keepalive: float) -> Received:
    subscription = through_proxy.subscribe("chats")
    assert hasattr(subscription, "keepalive")
    subscription.keepalive = keepalive
    received = Received(subscription)
    await asyncio.wait_for(subscription.wait_subscribed(), 3)
    return received


@pytest.fixture
async def publisher(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisCoordinator]:
    """A coordinator publishing straight to Redis (not through the cuttable proxy)."""
    coordinator = RedisCoordinator.from_url(redis_url, prefix=redis_prefix)
    yield coordinator
    await coordinator.aclose()


async def publish_until(publisher: RedisCoordinator, payload: str, received: Received) -> None:
    """Publish until it arrives: resubscribing after an outage takes a moment."""
    async with asyncio.timeout(10):
        while payload not in received.payloads:
            await publisher.publish("chats", payload)
            await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_the_subscription_survives_redis_going_away(
    proxy: TcpProxy,
    through_proxy: RedisCoordinator,
    publisher: RedisCoordinator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.coordination.channels")
    received = await subscribed_through(through_proxy, keepalive=5.0)
    try:
        await publish_until(publisher, "before", received)
        await proxy.stop()
        # Several failed reconnections (backoff 0.1 s doubling): logged once as a warning.
        await asyncio.sleep(1.5)
        assert len(lines(caplog, "still unreachable")) >= 2
        warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [r.getMessage() for r in warned] == lines(caplog, "lost (Redis unreachable")
        assert len(warned) == 1, [r.getMessage() for r in warned]
        await proxy.start()
        await asyncio.wait_for(received.subscription.wait_subscribed(), 5)
        await publish_until(publisher, "after", received)
        assert len(lines(caplog, "is back after")) == 1
        # Told that what was published meanwhile is gone, once, before what came after.
        payloads = received.payloads
        assert payloads.count(GAP) == 1
        assert payloads.index("before") < payloads.index(GAP) < payloads.index("after")
        assert received.task.done() is False
    finally:
        await received.close()


@pytest.mark.slow
async def test_a_half_open_connection_is_noticed_and_replaced(
    proxy: TcpProxy,
    through_proxy: RedisCoordinator,
    publisher: RedisCoordinator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.coordination.channels")
    received = await subscribed_through(through_proxy, keepalive=0.3)
    try:
        await proxy.stall()
        # Redis dropped the subscriber; the client's socket stays open and silent.
        async with asyncio.timeout(5):
            while await publisher.publish("chats", "lost") != 0:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        async with asyncio.timeout(3):  # a PING after 0.3 s, given up 0.3 s later
            while not lines(caplog, "lost (Redis unreachable: no answer to a PING"):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await proxy.start()
        await publish_until(publisher, "after the partition", received)
        assert len(lines(caplog, "is back after")) == 1
        assert received.payloads.count(GAP) == 1
        assert "lost" not in received.payloads
    finally:
        await received.close()

