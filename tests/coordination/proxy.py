"""A TCP proxy on loopback that can drop every connection and stop listening, then come back
on the same port: "Redis went away" without touching the shared server. `stall` makes it a
partition instead: Redis's side of every connection is closed, the client's stays open and
silent (half-open, as a client sees a network that stopped carrying packets), and new
connections are accepted but never answered, until `start` again. `sent` counts the
clients' writes that reached the server (a client that waits for each answer, as asyncpg and
redis-py do, makes one write a round trip)."""

from __future__ import annotations

import asyncio
import contextlib

from tests.ports import free_port


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        # Below the ephemeral range (tests/ports.py): while the proxy is stopped its port is
        # free, and one of the kernel's would go to the next outgoing connection on the
        # machine, which then holds it when the proxy starts again ("address already in use",
        # seen once in a fresh-clone run).
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._upstream: set[asyncio.StreamWriter] = set()
        self.stalled = False
        self.sent = 0

    @property
    def up(self) -> bool:
        return self._server is not None and not self.stalled

    async def start(self) -> None:
        if self.stalled:  # the partition heals: what it held open is refused, as Redis would
            self.stalled = False
            self._abort(self._writers)
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and cut every open connection (as a server that died)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.stalled = False
        self._abort(self._writers)

    async def stall(self) -> None:
        """A partition: nothing reaches Redis, nothing comes back, no connection is closed
        on the client's side (see the module docstring)."""
        self.stalled = True
        self._abort(self._upstream)

    def _abort(self, writers: set[asyncio.StreamWriter]) -> None:
        for writer in list(writers):
            writer.transport.abort()
            self._writers.discard(writer)
            self._upstream.discard(writer)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.stalled:
            self._writers.add(writer)  # held open and silent; `start` refuses it
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        self._upstream.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.stalled:
                    continue  # swallowed by the partition
                if writer in self._upstream:
                    self.sent += 1
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not (self.stalled and writer not in self._upstream):
                self._writers.discard(writer)
                self._upstream.discard(writer)
                with contextlib.suppress(Exception):
                    writer.transport.abort()
