"""Many writers at once on one database: nothing locked out, nothing lost, nothing mixed.

Two shapes: several `Database` objects in one process (each its own pool and connections,
so they meet at SQLite's file locks), and several real processes on the same file.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import select

from bot.storage.database import Database
from bot.storage.models import Message, MessageStatus
from bot.storage.repositories import UsageCount, UsageRepository
from tests.conftest import REPO_ROOT
from tests.forkserver import zygote_launcher
from tests.storage.workload import DAY, HOT_USER, chat_session

TURNS = 5


async def _check(url: str, chats: list[int]) -> None:
    db = Database(url)
    try:
        async with db.read_session() as session:
            rows = (
                await session.execute(select(Message.text, Message.status).order_by(Message.id))
            ).all()
            totals = await UsageRepository(session).totals(DAY)
            hot = await UsageRepository(session).for_user(HOT_USER, DAY)
    finally:
        await db.dispose()
    assert len(rows) == len(chats) * TURNS * 2
    assert all(status is MessageStatus.COMPLETE for _, status in rows)
    for chat_id in chats:
        mine = [text for text, _ in rows if text.startswith(f"{chat_id}:")]
        expected = [f"{chat_id}:{kind}{t}" for t in range(TURNS) for kind in ("q", "a")]
        assert mine == expected  # in order, complete, nothing from another chat
    assert hot == UsageCount(tokens=8 * TURNS * len(chats))
    assert totals == UsageCount(tokens=2 * 8 * TURNS * len(chats))


@pytest.mark.slow
async def test_many_writers_in_one_process(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(3)]
    chats = list(range(1, 16))
    try:
        await asyncio.gather(*(chat_session(databases[c % 3], c, TURNS) for c in chats))
    finally:
        for db in databases:
            await db.dispose()
    await _check(database_url, chats)


@pytest.mark.process
async def test_many_writer_processes_on_one_file(sqlite_url: str) -> None:
    groups = [[1, 2, 3, 4], [5, 6, 7, 8]]
    processes = [  # forked from the suite's zygote: separate processes, imports paid once
        await asyncio.create_subprocess_exec(
            *zygote_launcher(),
            "-m",
            "tests.storage.workload",
            sqlite_url,
            str(TURNS),
            *map(str, group),
            cwd=REPO_ROOT,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        for group in groups
    ]
    for process in processes:
        _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
    await _check(sqlite_url, [c for group in groups for c in group])
