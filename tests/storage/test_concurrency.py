"""Many writers at once on one database: nothing locked out, nothing lost, nothing mixed.

Several `Database` objects in one process (each its own pool and connections, so they meet at
SQLite's file locks); several real processes on the same file are
tests/e2e/test_storage_processes.py's.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.storage.database import Database
from tests.storage.workload import TURNS, chat_session, check_writes


@pytest.mark.slow
async def test_many_writers_in_one_process(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(3)]
    chats = list(range(1, 16))
    try:
        await asyncio.gather(*(chat_session(databases[c % 3], c, TURNS) for c in chats))
    finally:
        for db in databases:
            await db.dispose()
    await check_writes(database_url, chats)
