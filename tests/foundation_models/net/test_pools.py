"""The model client's connections in pools of at most `SHARD` (pools.py): many streams at once
spread over the pools, within the client's limits, and a pool's place is given back whether
the response was read, closed early or never came."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import certifi
import httpx
import pytest
from aiohttp import web

from bot.foundation_models.net import http_client
from bot.foundation_models.pools import SHARD, ShardedTransport

STREAMS = 60


async def slow_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    peer = request.transport.get_extra_info("peername") if request.transport else None
    for n in range(3):
        await response.write(f"{peer[1] if peer else 0}:{n}\n".encode())
        await asyncio.sleep(0.05)
    await response.write_eof()
    return response


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/stream", slow_stream)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def pools(http: httpx.AsyncClient) -> ShardedTransport:
    transport = http._transport
    assert isinstance(transport, ShardedTransport)
    return transport


async def test_many_streams_spread_over_small_pools_and_give_their_places_back(
    server: str,
) -> None:
    limits = httpx.Limits(max_connections=STREAMS + 10, max_keepalive_connections=STREAMS)
    async with http_client(timeout=httpx.Timeout(5.0), limits=limits) as http:
        sharded = pools(http)
        assert len(sharded._transports) == -(-(STREAMS + 10) // SHARD)  # 3 pools of 24

        async def one() -> set[str]:
            async with http.stream("GET", f"{server}/stream") as response:
                return {line.split(":")[0] async for line in response.aiter_lines()}

        peers = await asyncio.gather(*(one() for _ in range(STREAMS)))
        assert all(len(p) == 1 for p in peers)  # each stream on one connection ...
        assert len(set().union(*peers)) == STREAMS  # ... of its own: all at once
        assert sharded._open == [0] * len(sharded._open)  # every place given back
        for transport in sharded._transports:  # no pool above its share
            assert len(transport.pool.connections) <= SHARD

        # Closed before its body was read, and refused before any answer: given back too.
        async with http.stream("GET", f"{server}/stream"):
            assert sum(sharded._open) == 1
        with pytest.raises(httpx.ConnectError):
            await http.get("http://127.0.0.1:1/nothing-listens")
        assert sharded._open == [0] * len(sharded._open)


def tls_contexts(client: httpx.AsyncClient) -> list[ssl.SSLContext]:
    """Each pool's TLS context, without repeats."""
    transport = client._transport
    assert isinstance(transport, ShardedTransport)
    contexts: dict[int, ssl.SSLContext] = {}
    for shard in transport._transports:
        context = shard.pool._ssl_context
        assert context is not None
        contexts[id(context)] = context
    return list(contexts.values())


def test_every_pool_of_every_client_shares_one_tls_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading the CA bundle costs tens of ms: built once per process, not twice per pool."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    limits = httpx.Limits(max_connections=SHARD * 4)
    timeout = httpx.Timeout(5.0)
    first = http_client(timeout=timeout, limits=limits)
    assert isinstance(first._transport, ShardedTransport)
    assert len(first._transport._transports) == 4
    [shared] = tls_contexts(first)
    assert tls_contexts(http_client(timeout=timeout, limits=limits)) == [shared]
    assert shared.verify_mode == ssl.CERT_REQUIRED
    assert shared.check_hostname
    # verify=False is a context of its own, which does not verify.
    [plain] = tls_contexts(http_client(timeout=timeout, limits=limits, verify=False))
    assert plain is not shared
    assert plain.verify_mode == ssl.CERT_NONE
    # A CA bundle named in the environment (httpx honours it) gets a context of its own.
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    assert tls_contexts(http_client(timeout=timeout, limits=limits)) != [shared]
