"""Redis fixtures for every suite: the server on 127.0.0.1:6379 (FMBOT_TEST_REDIS_URL), shared
with other test runs, so each test works under its own key prefix and deletes its keys after.

- `redis_url`: the server's URL, or skip saying why it is unreachable.
- `redis_prefix`: a unique key prefix for this test ("fmbot-test:<hex>:"), cleaned up after.

Both use redis-py's synchronous client, so async fixtures and tests may request them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

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
