"""The writer's SQLite connection never blocks the loop while it waits for a lock."""

from __future__ import annotations

import asyncio
import sqlite3

from sqlalchemy import text

from bot.storage.database import Database


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
