"""Engine and session behaviour: SQLite pragmas, units of work, timestamps."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.storage.database import Database, create_engine, is_sqlite, normalize_url
from bot.storage.migrations import check_schema_current, head_revision, migrate
from bot.storage.models import Chat, Conversation, User
from bot.storage.repositories import ChatRepository, UserRepository


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_a_write_lock_held_elsewhere_fails_the_begin_as_sqlalchemy_reports_it(
    sqlite_url: str,
) -> None:
    """BEGIN IMMEDIATE goes to the driver directly: a lock held by another process still
    surfaces as SQLAlchemy's OperationalError (after the writer's asynchronous wait of
    BUSY_TIMEOUT_MS, see sqlite_inline.py), and the writer works once it is free."""
    db = Database(sqlite_url)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
    try:
        async with db.engine.connect() as conn:  # the writer's only pooled connection
            await conn.exec_driver_sql("PRAGMA busy_timeout=50")  # kept by the connection
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"):
            async with db.session() as session:
                await session.execute(text("SELECT 1"))
        other.execute("ROLLBACK")
        async with db.session() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
    finally:
        other.close()
        await db.dispose()


async def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            session.add(Conversation(chat_id=424242))


async def test_session_commits_on_success_and_rolls_back_on_error(database: Database) -> None:
    async with database.session() as session:
        await UserRepository(session).upsert(1, "Ann")

    async def failing_unit_of_work() -> None:
        async with database.session() as session:
            await UserRepository(session).upsert(2, "Bob")
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        await failing_unit_of_work()
    async with database.read_session() as session:
        ids = (await session.scalars(select(User.id))).all()
    assert ids == [1]


async def test_timestamps_come_back_aware_utc(database: Database) -> None:
    async with database.session() as session:
        await ChatRepository(session).upsert(-100, "group", "Team")
    async with database.read_session() as session:
        chat = await session.get(Chat, -100)
    assert chat is not None
    assert chat.created_at.tzinfo is not None
    assert chat.created_at.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - chat.created_at) < dt.timedelta(minutes=1)


async def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with database.session() as session:
            session.add(Chat(id=5, type="private", created_at=dt.datetime(2020, 1, 1)))


async def test_read_session_does_not_block_behind_a_writer(sqlite_url: str) -> None:
    """WAL: a reader sees the last committed state while a write transaction is open."""
    db = Database(sqlite_url)
    try:
        async with db.session() as session:
            await ChatRepository(session).upsert(1, "private")
        async with db.session() as writer:
            await ChatRepository(writer).set_model(1, "yandexgpt-lite")
            async with db.read_session() as reader:
                chat = (await reader.execute(text("SELECT model FROM chats"))).scalar()
            assert chat is None
    finally:
        await db.dispose()


def test_is_sqlite(tmp_path: Path) -> None:
    assert is_sqlite(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert not is_sqlite("postgresql+asyncpg://u@h/db")


def test_bare_schemes_get_async_drivers() -> None:
    assert normalize_url("postgres://u:p@h:5432/db") == "postgresql+asyncpg://u:p@h:5432/db"
    assert normalize_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_url("sqlite:///data/x.db") == "sqlite+aiosqlite:///data/x.db"
    assert normalize_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"


async def test_migrate_creates_the_sqlite_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state/deeper/fmbot.db"
    await migrate(url)
    assert (tmp_path / "state" / "deeper" / "fmbot.db").is_file()
    assert await check_schema_current(url) == head_revision()
