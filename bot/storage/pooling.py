"""Pooled PostgreSQL connections: checked before use only when they sat idle; sessions for a
unit of work of one statement, outside a transaction."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

# A pooled connection idle longer than this is checked before use (a restarted server must
# not fail the next update); one in steady use is not: SQLAlchemy's `pool_pre_ping` checks
# every checkout. A connection that broke while in use fails its statement, and SQLAlchemy
# drops it from the pool then (https://docs.sqlalchemy.org/en/20/core/pooling.html#disconnect-handling-pessimistic).
PING_AFTER_IDLE = 1.0
_LAST_USED = "fmbot_last_used"
# After a warning that a pooled connection was gone, the next ones of the burst go at debug.
QUIET_AFTER_WARNING = 60.0

log = logging.getLogger(__name__)


def ping_when_idle(engine: AsyncEngine, after: float = PING_AFTER_IDLE) -> None:
    """Check a pooled connection of `engine` before use when it was idle over `after` s."""
    dialect = engine.dialect
    ping = _asyncpg_ping if dialect.driver == "asyncpg" else dialect.do_ping
    last_warned = -QUIET_AFTER_WARNING  # when a replacement was last logged as a warning

    def checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        used = record.info.get(_LAST_USED)
        if used is None or time.monotonic() - used <= after:
            return  # a fresh connection, or one in steady use
        nonlocal last_warned
        try:
            alive = ping(dbapi_connection)
        except Exception as exc:
            # Seen when the server restarted or a proxy dropped idle connections. One warning
            # for a burst (after a failover, every pooled connection is found gone in turn),
            # then one debug line per connection replaced, so a check that keeps failing
            # still shows in the log, once a minute.
            now = time.monotonic()
            quiet = now - last_warned < QUIET_AFTER_WARNING
            if not quiet:
                last_warned = now
            log.log(logging.DEBUG if quiet else logging.WARNING,
                    "an idle pooled database connection is gone (%r); opening a new one", exc)
            raise DisconnectionError(f"an idle pooled connection is gone: {exc}") from exc
        if not alive:
            raise DisconnectionError("an idle pooled connection is gone")

    def checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_LAST_USED] = time.monotonic()

    # The pool retries a checkout whose listener raises DisconnectionError on a new
    # connection, as it does when its own pre-ping fails.
    event.listen(engine.sync_engine, "checkout", checkout)
    event.listen(engine.sync_engine, "checkin", checkin)


def _asyncpg_ping(dbapi_connection: Any) -> bool:
    """One round trip: `SELECT 1` in asyncpg's simple protocol (no statement is prepared, no
    transaction opened, so it also passes PgBouncer in transaction mode; an empty query would
    do, but asyncpg's `execute` fails on its empty status). SQLAlchemy's own asyncpg ping
    opens a transaction, runs `;` as a prepared statement and rolls back: four client writes,
    paid by every sweep of an idle replica and by a good part of a replica's checkouts under
    load (its connections sit idle longer than one process's)."""
    await_only(dbapi_connection.driver_connection.execute("SELECT 1"))
    return True


def one_statement_sessions(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """Sessions for a unit of work of one statement (a sweep's read, a check, one UPDATE),
    which needs no transaction around it: on PostgreSQL the same engine in AUTOCOMMIT,
    sharing its pool, so the statement is one round trip instead of three (BEGIN, the
    statement, COMMIT or ROLLBACK) and SQLAlchemy's transaction bookkeeping is skipped;
    asyncpg's adapter switches the mode without a call to the server. A statement is atomic
    on its own: one that fails changes nothing. On SQLite, `sessionmaker` itself (in-process,
    nothing to save; and there the engine's BEGIN IMMEDIATE listener would open a transaction
    that autocommit never ends), so a write still calls `commit()`.

    Never for two statements that must hold together: each commits on its own."""
    bind = sessionmaker.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "postgresql":
        return sessionmaker
    return async_sessionmaker(
        bind.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )
