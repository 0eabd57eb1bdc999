"""SQLite calls on the event loop's own thread, for the writer's one pooled connection.

aiosqlite runs every call on a worker thread, and SQLAlchemy makes four calls per statement
(open a cursor, execute, fetch, close): four queue puts that wake the thread and four
`call_soon_threadsafe` wake-ups of the loop. A statement of ours on a local WAL file takes tens
of microseconds, less than those hops cost; in bench/bench_load.py (100 users) running the
writer's calls inline took the bot from 28.1 to 25.0 ms of CPU per turn, and its kernel time
from 0.81 to 0.57 s.

Why this does not stall the loop (see bot/storage/database.py):
- the process's writers share ONE pooled connection, so no task waits in SQLite for a lock
  held by another task of ours (they wait on the pool instead, asynchronously);
- this connection's busy timeout is `INLINE_BUSY_TIMEOUT_MS`, and a `BEGIN IMMEDIATE` that
  meets another process's write lock is retried with `asyncio.sleep` up to the usual
  `BUSY_TIMEOUT_MS`; inside a transaction that holds the write lock WAL does not wait;
- WAL with `synchronous=NORMAL` syncs only at checkpoints, not on every commit.
Reads beside the writer (`Database.read_session`) keep aiosqlite's thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite

# A lock wait this long may block the loop; longer waits are retried asynchronously.
INLINE_BUSY_TIMEOUT_MS = 20


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run where they are awaited.

    aiosqlite (0.22, core.py) sends every call through `_execute` and opens the database in
    `_connect`; overriding the two runs them here, and its worker thread is never started.
    SQLAlchemy's aiosqlite dialect drives it like any aiosqlite connection.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Any:
        return self._connect().__await__()

    def stop(self) -> None:
        """Close now (aiosqlite's version queues the close for its thread)."""
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def connect_inline(database: str, **kwargs: Any) -> InlineConnection:
    """`aiosqlite.connect` for an `InlineConnection` (same arguments as `sqlite3.connect`)."""
    return InlineConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size=64)


def is_inline(driver_connection: object) -> bool:
    return isinstance(driver_connection, InlineConnection)
