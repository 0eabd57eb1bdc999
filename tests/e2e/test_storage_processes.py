"""Processes sharing one database: two bots migrating a fresh one at once (SQLite, and
PostgreSQL when reachable), two writers on one SQLite file, all at the same time. The
processes are the subject (their locks, their commits), so these start fresh interpreters;
the same work in one process is tests/storage's."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.storage.migrations import current_revision, head_revision
from tests.conftest import REPO_ROOT
from tests.db import _execute_autocommit, sqlite_url_for
from tests.storage.workload import TURNS, check_writes

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]

MIGRATE = "import sys; from bot.storage.migrations import migrate_blocking as m; m(sys.argv[1])"


async def finished(what: str, process: asyncio.subprocess.Process) -> None:
    _, stderr = await process.communicate()
    assert process.returncode == 0, f"{what}: exit {process.returncode}\n{stderr.decode()}"


@pytest.fixture
def empty_databases(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """Databases without any schema: a SQLite file, and PostgreSQL when it is reachable."""
    empty = {"sqlite": sqlite_url_for(tmp_path / "empty.db")}
    try:
        url: str = request.getfixturevalue("_postgres_scratch")
    except pytest.skip.Exception as skipped:  # SQLite alone, saying why
        print(f"PostgreSQL left out: {skipped}")
        return empty
    asyncio.run(_execute_autocommit(url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public"))
    return empty | {"postgres": url}


async def test_processes_migrating_and_writing_at_once_do_not_collide(
    empty_databases: dict[str, str], sqlite_url: str
) -> None:
    """Step 1: two processes migrate each fresh database at once and both come up. Step 2
    (at the same time): two writer processes on one SQLite file lose no write."""
    empty = empty_databases

    def migrate(url: str) -> asyncio.Future[asyncio.subprocess.Process]:
        return asyncio.ensure_future(asyncio.create_subprocess_exec(
            sys.executable, "-c", MIGRATE, url, cwd=REPO_ROOT, stderr=asyncio.subprocess.PIPE))

    groups = [[1, 2, 3, 4], [5, 6, 7, 8]]
    migrating = {f"{name} migration {i}": migrate(url) for name, url in empty.items()
                 for i in (1, 2)}
    writers = {
        f"writer of chats {group}": asyncio.ensure_future(asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.storage.workload", sqlite_url, str(TURNS),
            *map(str, group), cwd=REPO_ROOT, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        ))
        for group in groups
    }
    started = {what: await process for what, process in {**migrating, **writers}.items()}
    await asyncio.gather(*(finished(what, p) for what, p in started.items()))
    for name, url in empty.items():
        assert await current_revision(url) == head_revision(), f"{name}: not at head"
    await check_writes(sqlite_url, [c for group in groups for c in group])
