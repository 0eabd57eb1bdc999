"""Connection pools of at most ``SHARD`` connections each, behind one httpx transport.

httpcore's pool (1.0.x) scans every connection for every connection each time a request
starts or a response is closed (``AsyncConnectionPool._assign_requests_to_connections``: the
keep-alive check counts the whole pool inside the loop over it), so its cost grows with the
square of the pool's size. With the pool sized for the generation limit (210 answers at once,
230 connections) that was a third of the bot's CPU in a burst of users (py-spy, 2026-11-24,
docs/performance.md), and every turn's request waited behind it. Several small pools cost
the same per request whatever the limit: a request goes to the pool with the fewest
requests open, so the limits still add up to the client's.

Each pool is httpcore's, built with the network backend of net.py (an option httpx's own
transport does not pass on), behind `PoolTransport`: httpx's public transport interface over
httpcore's public pool, as httpx's `AsyncHTTPTransport` is.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator

import httpcore
import httpx

SHARD = 24  # connections per pool: a scan of 24 x 24 is cheap; more pools cost nothing


# httpcore's errors as httpx raises them (the most specific one that matches wins).
_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped: type[httpx.TransportError] | None = None
        for source, target in _ERRORS.items():
            if isinstance(exc, source) and (mapped is None or issubclass(target, mapped)):
                mapped = target
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


class _PoolStream(httpx.AsyncByteStream):
    """A response body read from httpcore, its errors raised as httpx's."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class PoolTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one `httpcore.AsyncConnectionPool`."""

    def __init__(self, pool: httpcore.AsyncConnectionPool) -> None:
        self.pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        sent = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            answer = await self.pool.handle_async_request(sent)
        assert isinstance(answer.stream, AsyncIterable)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_PoolStream(answer.stream),
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()


class _Released(httpx.AsyncByteStream):
    """The response's body; closing it tells the transport the request is over."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._release is not None:
                self._release()
                self._release = None


class ShardedTransport(httpx.AsyncBaseTransport):
    """``shards`` transports sharing ``limits``; each request goes to the least busy one."""

    def __init__(self, transports: list[httpx.AsyncBaseTransport]) -> None:
        self._transports = transports
        self._open = [0] * len(transports)

    @classmethod
    def build(
        cls,
        limits: httpx.Limits,
        make: Callable[[httpx.Limits], httpx.AsyncBaseTransport],
    ) -> ShardedTransport:
        total = limits.max_connections or SHARD
        shards = max(1, math.ceil(total / SHARD))
        keepalive = limits.max_keepalive_connections
        per_shard = httpx.Limits(
            max_connections=math.ceil(total / shards),
            max_keepalive_connections=None if keepalive is None else math.ceil(keepalive / shards),
            keepalive_expiry=limits.keepalive_expiry,
        )
        return cls([make(per_shard) for _ in range(shards)])

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._open)), key=self._open.__getitem__)
        self._open[index] += 1
        try:
            response = await self._transports[index].handle_async_request(request)
        except BaseException:
            self._open[index] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Released(response.stream, lambda: self._done(index))
        return response

    def _done(self, index: int) -> None:
        self._open[index] -= 1

    async def aclose(self) -> None:
        for transport in self._transports:
            await transport.aclose()


def pooled_transport(
    limits: httpx.Limits,
    verify: ssl.SSLContext | bool,
    network_backend: httpcore.AsyncNetworkBackend,
) -> ShardedTransport:
    """Pools of at most ``SHARD`` connections on ``network_backend`` (see the module)."""

    context = ssl_context(verify)

    def make(shard: httpx.Limits) -> httpx.AsyncBaseTransport:
        # The settings httpx's own transport gives its pool (HTTP/1.1, no retries), plus ours.
        return PoolTransport(httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=shard.max_connections,
            max_keepalive_connections=shard.max_keepalive_connections,
            keepalive_expiry=shard.keepalive_expiry,
            network_backend=network_backend,
        ))

    return ShardedTransport.build(limits, make)


def ssl_context(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    """The TLS context for ``verify``: one per process for ``True`` or ``False``.

    Loading the CA bundle costs 20-50 ms of CPU, and httpx loads it for every transport it
    builds; a client of five shards loaded it ten times (twice per shard), which made up most of
    a bot's start-up CPU beside its imports. One context is safe to share: each connection
    wraps its own socket with it. ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` are honoured as httpx
    honours them, and a change of either builds a new context.
    """
    if isinstance(verify, ssl.SSLContext):
        return verify
    return _shared_context(verify, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _shared_context(verify: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    del cert_file, cert_dir  # the cache's key: httpx reads them from the environment itself
    return httpx.create_ssl_context(verify=verify)
