"""SQLite calls on the event loop's own thread, for the writer's one pooled connection.

aiosqlite runs every call on a worker thread, and SQLAlchemy makes four calls per statement
(open a cursor, execute, fetch, close): four queue puts that wake the thread and four
`call_soon_threadsafe` wake-ups of the loop. A statement of ours on a local WAL file takes tens
of microseconds, less than those hops cost.

`InlineConnection` is a connection of its own with the interface SQLAlchemy's aiosqlite dialect
drives (the awaitable connection, `cursor()`, `execute`, `commit`, `rollback`, `close`,
`stop`, `create_function`, as aiosqlite's `Connection` offers them) over a plain `sqlite3`
connection; it is handed to the dialect through its `async_creator_fn` (database.py). Nothing
of aiosqlite is used or subclassed.

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
from collections.abc import Callable, Generator, Iterable
from functools import partial
from types import TracebackType
from typing import Any

# A lock wait this long may block the loop; longer waits are retried asynchronously.
INLINE_BUSY_TIMEOUT_MS = 20


class InlineCursor:
    """A `sqlite3.Cursor` behind aiosqlite's cursor interface."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor
        self.arraysize = cursor.arraysize  # fetchmany's default size

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        self.cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self.cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self.cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self.cursor.fetchmany(self.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self.cursor.fetchall()

    async def close(self) -> None:
        self.cursor.close()

    @property
    def description(self) -> Any:
        return self.cursor.description

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self.cursor.lastrowid



class InlineConnection:
    """A `sqlite3` connection whose calls run where they are awaited, behind aiosqlite's
    connection interface; opened when awaited."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        self._connector = connector
        # The open sqlite3 connection, or None once closed. SQLAlchemy's aiosqlite adapter
        # reads this attribute by this name before a commit or a rollback.
        self._connection: sqlite3.Connection | None = None

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._open().__await__()

    async def _open(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def _open_connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("Connection closed")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._open_connection().isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open_connection().cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._open_connection().commit()

    async def rollback(self) -> None:
        self._open_connection().rollback()

    async def create_function(
        self, name: str, num_params: int, func: Callable[..., Any], deterministic: bool = False
    ) -> None:
        self._open_connection().create_function(
            name, num_params, func, deterministic=deterministic
        )

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close now."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def connect_inline(database: str, **kwargs: Any) -> InlineConnection:
    """An `InlineConnection` to `database` (the arguments of `sqlite3.connect`)."""
    return InlineConnection(partial(sqlite3.connect, database, **kwargs))


def is_inline(driver_connection: object) -> bool:
    return isinstance(driver_connection, InlineConnection)
