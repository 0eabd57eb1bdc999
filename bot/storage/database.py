"""Engine, sessions and schema migrations.

SQLite is the default (`sqlite+aiosqlite:///fmbot.db`); the same code runs on PostgreSQL
(`postgresql+asyncpg://...`). On SQLite every connection gets WAL (readers never block the
writer), a busy timeout and foreign keys, and transactions start with `BEGIN IMMEDIATE`, so a
transaction that reads and then writes takes the write lock up front and waits in the busy
handler instead of failing with SQLITE_BUSY on the lock upgrade
(https://www.sqlite.org/lang_transaction.html#deferred_immediate_and_exclusive_transactions).
The pysqlite recipe for taking over BEGIN is in SQLAlchemy's docs ("Serializable isolation /
Savepoints / Transactional DDL").
Read-only work can use `Database.read_session()`, which begins DEFERRED.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

from bot.clock import loop_time
from bot.storage.compiled import SHARED
from bot.storage.pooling import PING_AFTER_IDLE, ping_when_idle
from bot.storage.sqlite_inline import INLINE_BUSY_TIMEOUT_MS, connect_inline, is_inline

DEFAULT_URL = "sqlite+aiosqlite:///fmbot.db"
BUSY_TIMEOUT_MS = 5000
# Execution option read by the "begin" hook: "IMMEDIATE" (default) or "DEFERRED".
SQLITE_BEGIN_OPTION = "fmbot_sqlite_begin"

def unavailable(exc: BaseException) -> bool:
    """The database could not be reached (refused, reset, timed out, still starting): worth
    trying again later, unlike an error of the statement itself. asyncpg's refusals come
    through unwrapped (OSError); the rest as SQLAlchemy's connection errors."""
    if isinstance(exc, OSError | TimeoutError | PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return False


def normalize_url(url: str) -> str:
    """Give a bare scheme its async driver: `postgres://` and `postgresql://` (as hosting
    platforms hand them out) become `postgresql+asyncpg://`, `sqlite://` becomes
    `sqlite+aiosqlite://`. An explicit driver is kept."""
    parsed = make_url(url)
    driver = {"postgres": "postgresql+asyncpg", "postgresql": "postgresql+asyncpg"}.get(
        parsed.drivername, "sqlite+aiosqlite" if parsed.drivername == "sqlite" else None
    )
    if driver is None:
        return url
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _is_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def _on_sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's "begin" hook emit BEGIN itself (the driver would emit a DEFERRED one).
    # An inline connection is opened that way already (and its setter would queue the change
    # for aiosqlite's thread, which it never starts).
    if dbapi_connection.isolation_level is not None:
        dbapi_connection.isolation_level = None
    inline = is_inline(dbapi_connection.driver_connection)
    cursor = dbapi_connection.cursor()
    try:
        busy_ms = INLINE_BUSY_TIMEOUT_MS if inline else BUSY_TIMEOUT_MS
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL + NORMAL is durable against application crashes; only an OS crash or power
        # loss can drop the last transactions (https://www.sqlite.org/pragma.html#pragma_synchronous).
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL once (the mode is stored in the file, so later connections find
    it set). The switch needs an exclusive lock and SQLite may refuse it at once, busy timeout
    or not, while another process creates the same database: retry for a while."""
    cursor.execute("PRAGMA journal_mode")
    row = cursor.fetchone()
    if row is not None and str(row[0]).lower() in ("wal", "memory"):
        return
    for attempt in range(50):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, wrapped by the adapter
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.1)  # only ever on a brand-new file, at start-up


def _on_sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
    statement = "BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN"
    if conn.dialect.driver != "aiosqlite":
        conn.exec_driver_sql(statement)
        return
    # Straight to aiosqlite: one hop to its thread, where SQLAlchemy's cursor would take three
    # (open, execute, close) plus its statement bookkeeping; every transaction pays this.
    driver = conn.connection.driver_connection
    # An inline connection waits for another process's write lock here, off the loop's
    # thread, for as long as SQLite's busy handler would (bot/storage/sqlite_inline.py).
    # On the loop's clock, as the sleeps between tries (bot/clock.py).
    retry_until = loop_time() + BUSY_TIMEOUT_MS / 1000 if is_inline(driver) else 0.0
    pause = 0.005
    while True:
        try:
            await_only(driver.execute(statement))  # type: ignore[union-attr]
            return
        except sqlite3.OperationalError as error:
            if "locked" in str(error) and loop_time() < retry_until:
                await_only(asyncio.sleep(pause))
                pause = min(pause * 2, 0.1)
                continue
            raise DBAPIError.instance(statement, None, error, sqlite3.Error) from error
        except sqlite3.Error as error:  # raised as SQLAlchemy would (OperationalError, ...)
            raise DBAPIError.instance(statement, None, error, sqlite3.Error) from error


def _connect_inline(
    dialect: Any, _record: ConnectionPoolEntry, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    """`do_connect` hook: open the DBAPI connection over an `InlineConnection`."""
    cparams["isolation_level"] = None
    return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=connect_inline, **cparams)


def create_engine(
    url: str = DEFAULT_URL,
    *,
    inline_sqlite: bool = False,
    ping_after_idle: float = PING_AFTER_IDLE,
    **kwargs: Any,
) -> AsyncEngine:
    """An AsyncEngine for `url`; on SQLite with the pragmas and BEGIN handling above.

    An SQLite file's directory is created if missing; other backends check a pooled
    connection that was idle before use (`PING_AFTER_IDLE`).
    `inline_sqlite` runs an aiosqlite engine's calls on the loop's thread: only for a pool of
    one connection (bot/storage/sqlite_inline.py says why).
    """
    url = normalize_url(url)
    if _is_sqlite_file(url):
        Path(str(make_url(url).database)).parent.mkdir(parents=True, exist_ok=True)
    if not is_sqlite(url):
        # The connection checked in last is the next one out: a pool that grew in a burst
        # hands out one warm connection in steady use instead of cycling through all of them,
        # each idle past PING_AFTER_IDLE and so checked first (three round trips; 2% of a
        # replica's CPU under bench_load, py-spy). The rest idle and may be closed by the
        # server; the check still catches that when one is taken again.
        kwargs.setdefault("pool_use_lifo", True)
    # The process's engines share their compiled SQL (compiled.py says why).
    kwargs["execution_options"] = {"compiled_cache": SHARED, **kwargs.get("execution_options", {})}
    engine = create_async_engine(url, **kwargs)
    if not is_sqlite(url) and not kwargs.get("pool_pre_ping"):
        ping_when_idle(engine, ping_after_idle)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
        if inline_sqlite and engine.dialect.driver == "aiosqlite":
            event.listen(engine.sync_engine, "do_connect", _connect_inline)
    return engine


class Database:
    """Owns the engines and the session factories. One per process.

    On an SQLite file, `sessionmaker` sessions share ONE pooled connection: every transaction
    there takes the write lock anyway (BEGIN IMMEDIATE), so the process's writers queue on the
    pool in FIFO order instead of polling SQLite's busy handler (which sleeps up to 100 ms
    between tries). Only other processes meet the busy timeout. Reads that may run beside
    the writer use `read_session()`, on a second engine with an ordinary pool.
    Consequence: never hold two `sessionmaker` transactions open at once in one task.
    """

    def __init__(self, url: str = DEFAULT_URL, **engine_kwargs: Any) -> None:
        self.url = url = normalize_url(url)
        self.engine = create_engine(
            url, inline_sqlite=_is_sqlite_file(url), **_writer_pool(url), **engine_kwargs
        )
        self.read_engine = (
            create_engine(url, **engine_kwargs) if _is_sqlite_file(url) else self.engine
        ).execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )
        self.read_sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.read_engine, expire_on_commit=False
        )
        self._engine_kwargs = engine_kwargs
        self._search_engine: AsyncEngine | None = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends normally, rolls back on an error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (SQLite: deferred BEGIN, so it never waits for the writer)."""
        # Closing (not rolling back) ends the transaction without expiring loaded objects.
        async with self.read_sessionmaker() as session:
            yield session

    # -- searches (knowledge base) ---------------------------------------------------------

    @functools.cached_property
    def search_sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for read-only searches whose statements need no common snapshot. On
        PostgreSQL, an engine of their own in AUTOCOMMIT (created on first use): no BEGIN and
        ROLLBACK around a search, and the pool's pre-ping is one round trip instead of three
        (asyncpg's ping opens and rolls back a transaction unless in autocommit). On SQLite
        the read sessions (in-process: nothing to save)."""
        if is_sqlite(self.url):
            return self.read_sessionmaker
        self._search_engine = create_engine(
            self.url, isolation_level="AUTOCOMMIT", **self._engine_kwargs
        )
        return async_sessionmaker(self._search_engine, expire_on_commit=False)

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.read_engine.dispose()
        if self._search_engine is not None:
            await self._search_engine.dispose()


def _writer_pool(url: str) -> dict[str, Any]:
    if not _is_sqlite_file(url):
        return {}
    # Waiting longer than SQLite's own busy timeout means a task holds one write transaction
    # while opening another (a bug): fail as SQLite would, rather than hang.
    return {"pool_size": 1, "max_overflow": 0, "pool_timeout": BUSY_TIMEOUT_MS / 1000}
