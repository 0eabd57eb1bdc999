"""Database fixtures for every suite: migrated SQLite files and, when reachable, PostgreSQL.

Registered for the whole suite by tests/conftest.py. Use:

- `database_url`: a migrated, empty database; parametrized over "sqlite" (a file in tmp_path)
  and "postgres" (skipped with the reason when the server is not reachable).
- `sqlite_url`: the SQLite case alone (most non-storage suites want only this).
- `database` / `sqlite_database`: a `bot.storage.database.Database` on the above, disposed after.
- `empty_database_url`: a database with no schema at all (migration tests).

PostgreSQL: the server in FMBOT_TEST_POSTGRES_URL (default postgresql+asyncpg://postgres@
127.0.0.1:5432/test) is shared with other test runs, so each pytest session creates its own
database `fmbot_test_<unix time>_<random>` there (and drops such databases over an hour
old, left by killed runs), migrates it once, empties the tables a test wrote to before the
next, and drops it at the end. SQLite: the schema is migrated once into a template file, and each
test gets a byte copy of it in its own tmp_path.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.features.installed import load_tables
from bot.storage.database import Database, create_engine
from bot.storage.migrations import head_revision, migrate_blocking
from bot.storage.models import Base

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DATABASE_PREFIX = "fmbot_test_"
STALE_AFTER = 3600.0  # seconds
# The PostgreSQL case carries the `postgres` mark (./scripts/test --fast leaves it out).
BACKENDS = (pytest.param("sqlite", id="sqlite"),
            pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))


def postgres_base_url() -> str:
    return os.environ.get("FMBOT_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def sqlite_url_for(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _execute_autocommit(url: str, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def postgres_reachable(url: str, timeout: float = 3.0) -> str | None:
    """None when the server answers, else why not (for the skip reason)."""

    async def probe() -> None:
        await asyncio.wait_for(_execute_autocommit(url, "SELECT 1"), timeout)

    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure means "not usable here"; the reason is reported
        return f"{type(exc).__name__}: {exc}"
    return None


def create_postgres_database(base_url: str) -> str:
    """Create a uniquely named database next to `base_url`'s; return its URL.

    The name carries its creation time, so databases left by killed runs can be dropped.
    """
    name = f"{DATABASE_PREFIX}{int(time.time())}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_execute_autocommit(base_url, f'CREATE DATABASE "{name}"'))
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_stale_postgres_databases(base_url: str, older_than: float = STALE_AFTER) -> None:
    """Drop test databases of runs that died before their teardown (a run takes minutes)."""

    async def sweep() -> None:
        engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                names = (
                    await conn.execute(
                        text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                        {"p": DATABASE_PREFIX.replace("_", r"\_") + "%"},
                    )
                ).scalars()
                for name in list(names):
                    stamp = name.removeprefix(DATABASE_PREFIX).split("_")[0]
                    if stamp.isdigit() and time.time() - int(stamp) > older_than:
                        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await engine.dispose()

    asyncio.run(sweep())


def drop_postgres_database(base_url: str, url: str) -> None:
    name = make_url(url).database
    asyncio.run(_execute_autocommit(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The base URL of a reachable PostgreSQL server, or skip."""
    url = postgres_base_url()
    problem = postgres_reachable(url)
    if problem is not None:
        pytest.skip(f"PostgreSQL not reachable at {url} ({problem}); set FMBOT_TEST_POSTGRES_URL")
    drop_stale_postgres_databases(url)
    return url


@pytest.fixture(scope="session")
def _postgres_migrated(postgres_server: str) -> Iterator[str]:
    url = create_postgres_database(postgres_server)
    try:
        migrate_blocking(url)
        yield url
    finally:
        drop_postgres_database(postgres_server, url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db-template") / "template.db"
    migrate_blocking(sqlite_url_for(path))
    return path


def _emptied(url: str, head: str | None) -> None:
    """Empty the session's PostgreSQL database for the next test, and stamp it at `head`
    (fmbot's heads, comma-joined: `head_revision()`).

    Only the tables a test wrote to are truncated, and only the sequences it drew from are
    restarted: a TRUNCATE of all ~40 tables cost the server 83 ms of CPU a test (a new file
    per table, and its WAL), more than most tests themselves, where checking an empty table
    costs a few microseconds. One statement, one connection."""
    assert head is not None, "the migrations have a head"
    load_tables()
    rows = ", ".join(f"('{row}')" for row in head.split(", "))
    names = ", ".join(f"'{t.name}'" for t in Base.metadata.sorted_tables)
    asyncio.run(_execute_autocommit(url, f"""
        DO $$
        DECLARE
            name text;
            written text[] := '{{}}';
            rows boolean;
        BEGIN
            FOREACH name IN ARRAY ARRAY[{names}]::text[] LOOP
                EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', name) INTO rows;
                IF rows THEN
                    written := written || name;
                END IF;
            END LOOP;
            IF cardinality(written) > 0 THEN
                EXECUTE 'TRUNCATE ' || (SELECT string_agg(format('%I', w), ', ')
                                        FROM unnest(written) AS w) || ' CASCADE';
            END IF;
            -- As RESTART IDENTITY would: each sequence drawn from starts again.
            PERFORM setval(format('%I.%I', schemaname, sequencename)::regclass,
                           start_value, false)
                FROM pg_sequences
                WHERE schemaname = current_schema() AND last_value IS NOT NULL;
            -- At the newest revision again, whatever an earlier test stamped there (the
            -- "newer schema is refused" test does, a branch's test adds its head).
            DELETE FROM alembic_version;
            INSERT INTO alembic_version (version_num) VALUES {rows};
        END $$"""))


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated, empty SQLite file of this test's own."""
    path = tmp_path / "fmbot.db"
    shutil.copyfile(_sqlite_template, path)
    return sqlite_url_for(path)


@pytest.fixture
def postgres_url(_postgres_migrated: str) -> str:
    """The session's migrated PostgreSQL database, emptied for this test."""
    _emptied(_postgres_migrated, head_revision())
    return _postgres_migrated


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(scope="session")
def _postgres_scratch(postgres_server: str) -> Iterator[str]:
    url = create_postgres_database(postgres_server)
    try:
        yield url
    finally:
        drop_postgres_database(postgres_server, url)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database without any schema (not even alembic_version)."""
    if request.param == "sqlite":
        return sqlite_url_for(tmp_path / "empty.db")
    # Emptied by recreating its schema: much faster than a new database (no checkpoint).
    url: str = request.getfixturevalue("_postgres_scratch")
    asyncio.run(_execute_autocommit(url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public"))
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def sqlite_database(sqlite_url: str) -> AsyncIterator[Database]:
    db = Database(sqlite_url)
    try:
        yield db
    finally:
        await db.dispose()
