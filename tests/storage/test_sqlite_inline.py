"""The writer's SQLite connection runs on the loop's thread and never blocks it on a lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from sqlalchemy import text

from bot.storage.database import Database, create_engine
from bot.storage.sqlite_inline import INLINE_BUSY_TIMEOUT_MS, InlineConnection


async def test_the_writer_runs_sqlite_on_the_loop_thread(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    seen: list[int] = []
    try:
        async with db.session() as session:
            raw = await (await session.connection()).get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, InlineConnection)
            await driver.create_function(
                "whose_thread", 0, lambda: seen.append(threading.get_ident()) or 1
            )
            assert (await session.execute(text("SELECT whose_thread()"))).scalar() == 1
            busy = (await session.execute(text("PRAGMA busy_timeout"))).scalar()
            assert busy == INLINE_BUSY_TIMEOUT_MS
            await session.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))
            await session.execute(text("INSERT INTO notes (body) VALUES ('kept')"))
        async with db.session() as session:  # committed, readable on the same connection
            assert (await session.execute(text("SELECT body FROM notes"))).scalar() == "kept"
    finally:
        await db.dispose()
    assert seen == [threading.get_ident()]  # SQLite ran on the loop's thread


async def test_other_engines_keep_aiosqlite_threads(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert not isinstance(driver, InlineConnection)
    finally:
        await engine.dispose()


async def test_a_lock_held_elsewhere_is_waited_for_without_blocking_the_loop(
    sqlite_url: str,
) -> None:
    """Another connection holds the write lock; the writer's BEGIN IMMEDIATE waits, and while
    it waits the loop keeps running (the task that releases the lock runs on that loop: were
    the wait blocking, the lock would never be released in time and the write would fail)."""
    db = Database(sqlite_url)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
    ticks = 0
    try:
        async with db.session() as session:  # opens the pooled connection
            await session.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))
        other.execute("BEGIN IMMEDIATE")

        async def release_after_ticks() -> None:
            nonlocal ticks
            while ticks < 10:
                await asyncio.sleep(0.01)
                ticks += 1
            other.execute("ROLLBACK")

        async def write() -> int:
            async with db.session() as session:
                await session.execute(text("INSERT INTO notes (body) VALUES ('after')"))
                return ticks  # how far the other task got before the lock was ours

        releaser = asyncio.create_task(release_after_ticks())
        ticks_when_written = await write()
        await releaser
        assert ticks_when_written == 10
        async with db.session() as session:
            assert (await session.execute(text("SELECT count(*) FROM notes"))).scalar() == 1
    finally:
        other.close()
        await db.dispose()
