"""httpx over plain asyncio sockets: an httpcore network backend without anyio.

httpcore's default backend goes through anyio, which on every socket read enters a
`fail_after` cancel scope (even with no timeout: the client sets `read=None`), asks sniffio
which library runs, and resumes then pauses the transport's reading (two epoll_ctl calls).
A streamed answer is one read per chunk, so that was most of the client's CPU per chunk.
This backend keeps the same contract (`httpcore.AsyncNetworkBackend`, the extension point
httpcore offers for this) on an `asyncio.Protocol` that buffers what arrives, so a read is a
buffer hand-over, or one future when the buffer is empty. Works on asyncio and uvloop; TLS
via `loop.start_tls`. httpx above it is unchanged (requests, pooling, h11, error types).
"""

# The `timeout` parameters are httpcore's interface (httpcore.AsyncNetworkStream/Backend).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any, cast

import httpcore
import httpx

from bot.foundation_models.pools import pooled_transport

# Stop reading the socket when this much is buffered and nobody reads (flow control).
_HIGH_WATER = 1 << 20


class _Protocol(asyncio.Protocol):
    """Buffers incoming bytes; wakes the one reader httpcore has at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.eof = False
        self.error: BaseException | None = None
        self.reader: asyncio.Future[None] | None = None
        self.drain: asyncio.Future[None] | None = None
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its interface.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size > _HIGH_WATER and self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport: HTTP/1.1 has no half-closed use here

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)

    def pause_writing(self) -> None:
        self.drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)
        self.drain = None

    def _wake(self) -> None:
        reader = self.reader
        if reader is not None:
            self.reader = None
            if not reader.done():
                reader.set_result(None)


async def _within(future: asyncio.Future[None], seconds: float | None) -> bool:
    """Await `future`; False if `seconds` passed first (the future is then cancelled)."""
    if seconds is None:
        await future
        return True
    fired = False

    def expire() -> None:
        nonlocal fired
        fired = True
        future.cancel()

    handle = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        await future
    except asyncio.CancelledError:
        if fired:
            return False
        raise
    finally:
        handle.cancel()
    return True


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.eof:
                if protocol.error is not None:
                    raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
                return b""
            waiter = protocol.reader = asyncio.get_running_loop().create_future()
            if not await _within(waiter, timeout):
                protocol.reader = None
                raise httpcore.ReadTimeout("read timed out")
        chunk = protocol.chunks[0]
        if len(chunk) <= max_bytes:
            del protocol.chunks[0]
        else:
            protocol.chunks[0] = chunk[max_bytes:]
            chunk = chunk[:max_bytes]
        protocol.size -= len(chunk)
        if protocol.paused and protocol.size < _HIGH_WATER // 2:
            protocol.paused = False
            self._transport.resume_reading()
        return chunk

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.eof or self._transport.is_closing():
            raise httpcore.WriteError("connection closed")
        self._transport.write(buffer)
        drain = protocol.drain
        if drain is not None and not await _within(asyncio.shield(drain), timeout):
            raise httpcore.WriteTimeout("write timed out")

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                self._transport, self._protocol, ssl_context,
                server_hostname=server_hostname, ssl_handshake_timeout=timeout,
            )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("connection closed during the TLS handshake")
        self._protocol.connection_made(transport)  # the protocol now reads through TLS
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":
            # Asked of idle keep-alive connections: anything that arrived (EOF, or bytes no
            # request asked for) means the connection cannot be reused. The loop has already
            # read the socket into our buffer, so polling the socket would miss it.
            protocol = self._protocol
            return bool(protocol.chunks) or protocol.eof or transport.is_closing()
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, local_addr=local
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"could not connect within {timeout}s") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock: socket.socket | None = transport.get_extra_info("socket")
        if sock is not None:
            for option in socket_options or ():
                sock.setsockopt(*option)
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_unix_connection(_Protocol, path)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"could not connect within {timeout}s") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return AsyncioStream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def http_client(
    *, timeout: httpx.Timeout, limits: httpx.Limits, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` whose direct connections use `AsyncioBackend`, in pools of a
    few dozen connections each (pools.py: httpcore's pool costs the square of its size).

    Proxies from the environment keep httpx's own transports (httpx mounts them itself).
    """
    transport = pooled_transport(limits, verify, AsyncioBackend())
    return httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport)


def pool_limits(max_concurrent_generations: int) -> httpx.Limits:
    """Connections for every generation the limiter lets through at once, plus room for the
    calls made beside them (tokenizer, embeddings, operations, IAM); as many kept alive, so a
    busy bot does not open a new connection per answer. With a fixed 100, a raised quota
    (210 chats streaming) queued generations for seconds waiting for a connection."""
    return httpx.Limits(
        max_connections=max(100, max_concurrent_generations + 20),
        max_keepalive_connections=max(20, max_concurrent_generations),
    )
