"""Calls that may go late ride with the process's next call (bot/coordination/riding.py), on
the real Redis, with round trips counted by a TCP proxy (each client write is one)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bench.load_replicas import CountingProxy
from bot.coordination import CoordinationUnavailableError, Lease
from bot.coordination.redisstore import RedisCoordinator
from bot.coordination.riding import Rides
from tests.coordination.proxy import TcpProxy

# Round trips counted here: kept off the worker of the test that flushes Redis's script cache
# (test_redis_outage.py), which would add a reload to a count.
pytestmark = pytest.mark.xdist_group("redis-scripts")


@pytest.fixture
async def counted(
    redis_url: str, redis_prefix: str
) -> AsyncIterator[tuple[CountingProxy, RedisCoordinator]]:
    host, port = redis_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    proxy = CountingProxy(host, int(port))
    await proxy.start()
    store = RedisCoordinator.from_url(f"redis://127.0.0.1:{proxy.port}/0", prefix=redis_prefix)
    try:
        await store.ping()  # the connection's set-up is behind us
        yield proxy, store
    finally:
        await store.aclose()
        await proxy.close()


async def leased(store: RedisCoordinator) -> Lease:
    """A lease on chat 1, with the scripts the tests use loaded (one EVALSHA each after)."""
    lease = await store.acquire_lease("chat:1", "replica-a", 10.0)
    assert lease is not None
    await store.renew_leases([lease], 10.0)
    await store.announce("replicas", "replica-a", 10.0)
    return lease


async def test_calls_that_may_wait_go_with_the_next_call_in_one_round_trip(
    counted: tuple[CountingProxy, RedisCoordinator],
) -> None:
    proxy, store = counted
    lease = await leased(store)
    before = proxy.writes
    renewal = asyncio.create_task(store.renew_leases([lease], 10.0, within=30.0))
    census = asyncio.create_task(store.announce("replicas", "replica-a", 10.0, within=30.0))
    await asyncio.sleep(0.05)
    assert proxy.writes == before  # waiting for a call to ride with
    assert not renewal.done()
    assert not census.done()
    other = await store.acquire_lease("chat:2", "replica-a", 10.0)  # waited on: goes now
    assert other is not None
    assert await renewal == [True]
    assert await census == 1
    assert proxy.writes - before == 1
    assert store.rides.batches == 1


async def test_alone_they_go_together_at_the_earliest_deadline(
    counted: tuple[CountingProxy, RedisCoordinator],
) -> None:
    proxy, store = counted
    lease = await leased(store)
    before = proxy.writes
    asked = time.monotonic()
    renewed, held, count = await asyncio.gather(
        store.renew_leases([lease], 10.0, within=0.3),
        store.held_leases(["chat:1", "chat:2"], within=30.0),
        store.announce("replicas", "replica-a", 10.0, within=0.6),
    )
    assert time.monotonic() - asked >= 0.3
    assert (renewed, held, count) == ([True], {"chat:1"}, 1)
    assert proxy.writes - before == 1


async def test_a_script_the_server_forgot_is_loaded_and_run_again(
    redis_url: str, redis_prefix: str
) -> None:
    redis = Redis.from_url(redis_url)
    rides = Rides(redis)
    key = f"{redis_prefix}count"
    # A script no server has seen yet (its text is new): NOSCRIPT inside the pipeline.
    script = redis.register_script(
        f"-- {uuid.uuid4()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])"
    )
    try:
        waiting = asyncio.create_task(rides.run("count", script, [key], lambda: [2], within=30.0))
        await asyncio.sleep(0)
        # The waiting call goes first in the pipeline, but the server does not know it yet.
        assert await rides.run("read", None, ["GET", key]) is None
        assert await waiting == 2  # loaded and run again
        assert rides.batches == 1
        again = asyncio.create_task(rides.run("count", script, [key], lambda: [3], within=30.0))
        await asyncio.sleep(0)
        assert await rides.run("read", None, ["GET", key]) == b"5"  # known now: in order
        assert await again == 5
        assert rides.batches == 2
    finally:
        await redis.aclose()


async def test_a_caller_that_stops_waiting_leaves_the_others_their_answers(
    counted: tuple[CountingProxy, RedisCoordinator],
) -> None:
    _, store = counted
    lease = await leased(store)
    cancelled = asyncio.create_task(store.renew_leases([lease], 20.0, within=30.0))
    kept = asyncio.create_task(store.announce("replicas", "replica-a", 10.0, within=30.0))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert await store.lease_token("chat:1") == lease.token  # the ride: both go now
    assert await kept == 1
    # The cancelled renewal went anyway (nobody read its answer): the lease has 20 s now.
    ttl = await store.redis.pttl(f"{store.prefix}lease:chat:1")
    assert ttl > 15_000


async def test_waiting_calls_fail_alike_when_redis_is_away(
    proxy: TcpProxy, through_proxy: RedisCoordinator
) -> None:
    lease = await through_proxy.acquire_lease("chat:1", "replica-a", 10.0)
    assert lease is not None
    waiting = asyncio.create_task(through_proxy.renew_leases([lease], 10.0, within=30.0))
    await asyncio.sleep(0.01)
    await proxy.stop()
    with pytest.raises(CoordinationUnavailableError):
        await through_proxy.held_leases(["chat:1"])
    with pytest.raises(CoordinationUnavailableError, match="renew leases"):
        await waiting
    await proxy.start()
    assert await through_proxy.renew_leases([lease], 10.0, within=0.05) == [True]


async def test_what_waits_at_close_is_sent(
    counted: tuple[CountingProxy, RedisCoordinator],
) -> None:
    _, store = counted
    lease = Lease("chat:9", "replica-a", 1)
    assert await store.acquire_lease("chat:9", "replica-a", 10.0) == lease
    releasing = asyncio.create_task(store.renew_leases([], 10.0, release=[lease], within=30.0))
    await asyncio.sleep(0.01)
    await store.rides.aclose()
    assert await releasing == []  # no renewals asked
    assert await store.lease_token("chat:9") is None
