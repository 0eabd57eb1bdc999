"""Processes sharing one database: two bots migrating a fresh one at once, two writers on one
SQLite file. The processes are the subject (their locks, their commits), so these start fresh
interpreters; the same work in one process is tests/storage's."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from bot.storage.migrations import current_revision, head_revision
from tests.conftest import REPO_ROOT
from tests.storage.workload import TURNS, check_writes

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]


async def test_processes_migrating_at_once_do_not_collide(empty_database_url: str) -> None:
    """Two bot processes starting together on a fresh database both come up."""
    code = "import sys; from bot.storage.migrations import migrate_blocking as m; m(sys.argv[1])"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, empty_database_url, cwd=REPO_ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for process in processes:
        _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
    assert await current_revision(empty_database_url) == head_revision()


async def test_many_writer_processes_on_one_file(sqlite_url: str) -> None:
    groups = [[1, 2, 3, 4], [5, 6, 7, 8]]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.storage.workload", sqlite_url, str(TURNS),
            *map(str, group), cwd=REPO_ROOT, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        for group in groups
    ]
    for process in processes:
        _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
    await check_writes(sqlite_url, [c for group in groups for c in group])
