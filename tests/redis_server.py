"""Redis fixtures for every suite: the server on 127.0.0.1:6379 (FMBOT_TEST_REDIS_URL), shared
with other test runs, so each test works under its own key prefix and deletes its keys after.

- `redis_url`: the server's URL, or skip saying why it is unreachable.
- `redis_prefix`: a unique key prefix for this test ("fmbot-test:<hex>:"), cleaned up after.
- `proxy`: a loopback TCP proxy to that server the test can cut and restore;
  `through_proxy`: a coordinator reaching Redis through it.
- `private_redis`: a redis-server of the test's own (no persistence), which it may restart
  empty, as a Redis restarted without its data (never the shared one).

The first two use redis-py's synchronous client, so async fixtures and tests may request them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from redis.asyncio import Redis

from bot.coordination.redisstore import RedisCoordinator, connect
from tests.coordination.proxy import TcpProxy
from tests.ports import free_port

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_base_url() -> str:
    return os.environ.get("FMBOT_TEST_REDIS_URL") or DEFAULT_REDIS_URL


def redis_reachable(url: str, timeout: float = 2.0) -> str | None:
    """None when the server answers PING, else why not (for the skip reason)."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    except Exception as exc:  # any failure means "not usable here"; the reason is reported
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = redis_base_url()
    problem = redis_reachable(url)
    if problem is not None:
        pytest.skip(f"Redis not reachable at {url} ({problem}); set FMBOT_TEST_REDIS_URL")
    return url


def delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"fmbot-test:{uuid.uuid4().hex}:"
    yield prefix
    delete_prefix(redis_url, prefix)


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


class PrivateRedis:
    """`redis-server` on 127.0.0.1 for one test, keeping nothing on disk: `restart` brings it
    back on the same port with no keys and no scripts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        try:
            for _ in range(200):  # liveness: a start takes milliseconds
                try:
                    await client.ping()
                    return
                except (OSError, redis.exceptions.ConnectionError):
                    await asyncio.sleep(0.05)
            raise RuntimeError(f"redis-server did not answer on port {self.port}")
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()

    async def restart(self) -> None:
        """Killed and started again: empty, as after a restart without persistence."""
        await self.stop()
        await self.start()


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
