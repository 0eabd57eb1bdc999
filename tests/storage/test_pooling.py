"""Pooled PostgreSQL connections are checked before use only after sitting idle
(bot/storage/pooling.py): a connection in steady use costs no round trip more, and one whose
server side went away while it sat idle is replaced before the next transaction needs it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.storage.database import Database, create_engine
from bot.storage.pooling import one_statement_sessions
from tests.coordination.proxy import TcpProxy


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(url: str, pid: int) -> None:
    """What a restarted server (or a proxy dropping idle connections) does to a connection."""
    other = create_engine(url, pool_pre_ping=False)
    try:
        async with other.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await conn.commit()
    finally:
        await other.dispose()
    await asyncio.sleep(0.2)  # the server closes the socket after answering


def pooling_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.storage.pooling"]


@pytest.mark.postgres
@pytest.mark.slow
async def test_an_idle_connection_whose_server_side_went_away_is_replaced(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.storage.pooling")
    engine = create_engine(postgres_url, ping_after_idle=0.0, pool_size=1)
    try:
        first = await backend_pid(engine)
        await backend_pid(engine)  # checked: alive
        assert not pooling_records(caplog)  # a live connection's check logs nothing
        await terminate(postgres_url, first)
        # Idle longer than `ping_after_idle`: checked, found gone, replaced; nothing fails,
        # and the log says so once.
        second = await backend_pid(engine)
        assert second != first
        gone = pooling_records(caplog)
        assert [r.levelname for r in gone] == ["WARNING"]
        assert "idle pooled database connection is gone" in gone[0].getMessage()
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
async def test_a_connection_in_steady_use_is_not_checked_first(postgres_url: str) -> None:
    """The check's cost is a round trip per transaction; a connection used a moment ago
    skips it. Shown by the one case where skipping shows: its server side was cut just
    before, so its next statement fails (SQLAlchemy then drops it) and the one after runs on
    a new connection."""
    engine = create_engine(postgres_url, ping_after_idle=600.0, pool_size=1)
    try:
        first = await backend_pid(engine)
        await terminate(postgres_url, first)
        with pytest.raises(DBAPIError) as caught:
            await backend_pid(engine)
        assert caught.value.connection_invalidated
        assert await backend_pid(engine) != first
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_checking_an_idle_connection_is_one_round_trip(postgres_url: str) -> None:
    """Counted at the wire (a TCP proxy in front of the server): the same unit of work on a
    connection checked first costs exactly one client write more than on one that is not.
    SQLAlchemy's own asyncpg ping costs four (BEGIN, `;` prepared and run, ROLLBACK)."""
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)

    async def writes_of_a_unit(ping_after_idle: float) -> int:
        engine = create_engine(through, ping_after_idle=ping_after_idle, pool_size=1)
        try:
            await backend_pid(engine)  # a fresh connection: never checked
            before = proxy.sent
            await backend_pid(engine)
            return proxy.sent - before
        finally:
            await engine.dispose()

    try:
        assert await writes_of_a_unit(0.0) - await writes_of_a_unit(600.0) == 1
    finally:
        await proxy.stop()


async def in_a_transaction(session: AsyncSession) -> bool:
    """Two statements in one transaction share its id; in autocommit each is its own."""
    first = await session.scalar(text("SELECT txid_current()"))
    return bool(first == await session.scalar(text("SELECT txid_current()")))


@pytest.mark.postgres
async def test_one_statement_sessions_run_outside_a_transaction_on_the_same_pool(
    postgres_url: str,
) -> None:
    """One round trip a read instead of three; the pooled connection goes back to the
    ordinary sessions in their mode (each opens its transaction again)."""
    database = Database(postgres_url, pool_size=1, max_overflow=0)
    reads = one_statement_sessions(database.sessionmaker)
    try:
        for _ in range(2):
            async with reads() as session:
                assert not await in_a_transaction(session)
                pid = await session.scalar(text("SELECT pg_backend_pid()"))
            async with database.sessionmaker() as session:
                assert await in_a_transaction(session)
                assert await session.scalar(text("SELECT pg_backend_pid()")) == pid
    finally:
        await database.dispose()


def test_one_statement_sessions_on_sqlite_are_the_ordinary_sessions(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    assert one_statement_sessions(database.sessionmaker) is database.sessionmaker


@pytest.mark.postgres
async def test_after_a_burst_the_pool_hands_out_the_connection_used_last(
    postgres_url: str,
) -> None:
    """Three sessions at once open three connections; one at a time afterwards, each takes
    the one checked in last (a pool cycling through all three would leave each idle long
    enough to be checked before use)."""
    engine = create_engine(postgres_url, pool_size=3)
    all_in = asyncio.Barrier(3)  # each holds its connection until all three hold one
    try:
        async def hold() -> int:
            async with engine.connect() as conn:
                pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                await all_in.wait()
                return pid

        assert len(set(await asyncio.gather(hold(), hold(), hold()))) == 3
        assert len({await backend_pid(engine) for _ in range(6)}) == 1
    finally:
        await engine.dispose()
