"""Redis going away and coming back, through a loopback proxy we can cut: every operation
fails with CoordinationUnavailableError (never hangs, never answers wrongly), a held lease is
given up before it can expire on the server, and everything works again when Redis is back."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from bot.coordination import CoordinationUnavailableError, LeaseKeeper
from bot.coordination.redisstore import RedisCoordinator
from tests.coordination.proxy import TcpProxy


@pytest.mark.slow
async def test_errors_surface_and_recover(
    proxy: TcpProxy, through_proxy: RedisCoordinator
) -> None:
    c = through_proxy
    lease = await c.acquire_lease("chat:1", "a", 30.0)
    assert lease is not None
    await proxy.stop()
    for call in (
        c.ping(),
        c.acquire_lease("chat:2", "a", 5.0),
        c.renew_lease(lease, 30.0),
        c.take("bot", rate=30.0, burst=30.0),
        c.acquire_slot("gen", "h", limit=2, ttl=5.0),
    ):
        with pytest.raises(CoordinationUnavailableError, match="Redis unreachable"):
            # Never hangs: a liveness bound far above the connect timeout (2 s) and
            # redis-py's two quick retries, not a measurement of them.
            await asyncio.wait_for(call, 60)
    await proxy.start()
    await c.ping()
    # State on the server survived the outage: the lease is still ours.
    assert await c.renew_lease(lease, 30.0)
    assert await c.acquire_lease("chat:1", "b", 5.0) is None
    assert await c.take("bot", rate=30.0, burst=30.0) == 0.0


# SCRIPT FLUSH empties the shared server's script cache: a test counting round trips on
# another worker would see an extra one (EVALSHA refused, then reloaded). They share a worker.
@pytest.mark.xdist_group("redis-scripts")
async def test_scripts_are_loaded_again_when_the_server_forgot_them(
    through_proxy: RedisCoordinator, redis_url: str
) -> None:
    assert await through_proxy.acquire_lease("chat:1", "a", 5.0) is not None
    # As after a Redis restart: the script cache is empty; EVALSHA fails once, then reloads.
    admin = Redis.from_url(redis_url)
    try:
        await admin.script_flush()
    finally:
        await admin.aclose()
    assert await through_proxy.acquire_lease("chat:2", "a", 5.0) is not None


@pytest.mark.slow
async def test_a_holder_cut_off_gives_its_lease_up_in_time(
    proxy: TcpProxy, through_proxy: RedisCoordinator, redis_url: str, redis_prefix: str
) -> None:
    """Cut off from Redis, the poller stops leading before its lease can expire there, so
    a replica that still reaches Redis never polls at the same time."""
    ttl = 1.5
    lease = await through_proxy.acquire_lease("poller", "cut-off", ttl)
    assert lease is not None
    keeper = LeaseKeeper(through_proxy, lease, ttl)
    keeper.start()
    await asyncio.sleep(0.2)
    await proxy.stop()
    rival = RedisCoordinator.from_url(redis_url, prefix=redis_prefix)

    async def take_over() -> float:
        while await rival.acquire_lease("poller", "rival", ttl) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return time.monotonic()

    try:
        rival_won = asyncio.create_task(take_over())
        await asyncio.wait_for(keeper.lost.wait(), ttl + 3)
        gave_up = time.monotonic()
        taken_at = await asyncio.wait_for(rival_won, ttl + 3)
        # The holder let go before the lease could expire on the server: the rival, which
        # reaches Redis, got it only after that.
        assert gave_up < taken_at, "the rival got the lease before the holder let go"
    finally:
        await keeper.stop()
        await rival.aclose()
