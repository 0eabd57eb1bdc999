"""Alembic environment for fmbot: async engine, batch mode on SQLite.

The URL comes from, in order: `config.attributes["url"]` (bot.storage.migrations.migrate),
`-x url=...` on the command line, the DATABASE_URL environment variable, and the default
SQLite file.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.features.installed import load_tables
from bot.storage.database import DEFAULT_URL, create_engine
from bot.storage.migrations import adopt_and_park
from bot.storage.models import Base

config = context.config
if config.config_file_name is not None and not config.attributes.get("url"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

load_tables()  # the features' tables live in their folders (bot/features)
target_metadata = Base.metadata
# Arbitrary constant naming fmbot's migration lock (pg_advisory_xact_lock takes a bigint).
LOCK_KEY = 0x666D626F74


def database_url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    return str(url or os.environ.get("DATABASE_URL") or DEFAULT_URL)


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    name = connection.dialect.name if connection is not None else url or ""
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: Alembic rebuilds the table (copy and rename).
        render_as_batch=name == "sqlite" or name.startswith("sqlite"),
        compare_type=True,
        # One transaction for the whole upgrade (SQLite's DDL is transactional too): a failed
        # revision leaves nothing half-done, and with the lock below two processes starting
        # at once cannot both apply the same revision.
        transactional_ddl=True,
        literal_binds=connection is None,
    )


def run_migrations_offline() -> None:
    _configure(url=database_url())
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        # Taken before Alembic reads the current revision. SQLite: the transaction's BEGIN
        # IMMEDIATE already holds the write lock. PostgreSQL: an advisory lock.
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        # The features' branches share `alembic_version`: a row kept elsewhere comes in, one
        # of a feature not installed now goes aside (Alembic refuses a row it has no script
        # for), before Alembic reads the heads.
        known = {script.revision for script in context.script.walk_revisions()}
        adopt_and_park(connection, known, config.attributes.get("branches", ()))
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
