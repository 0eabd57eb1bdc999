"""A throwaway PostgreSQL database for one benchmark run, next to the server's `test` database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.storage.database import create_engine

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _autocommit(url: str, statement: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def throwaway_postgres(base_url: str) -> AsyncIterator[str | None]:
    """The URL of a new, empty database on `base_url`'s server, dropped afterwards; None (and
    a line saying why) when the server is not reachable."""
    name = f"fmbot_bench_{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.wait_for(_autocommit(base_url, f'CREATE DATABASE "{name}"'), 5)
    except Exception as exc:  # not reachable: say so; the caller skips PostgreSQL
        print(f"[postgres] skipped: {base_url} not reachable ({type(exc).__name__}: {exc})")
        yield None
        return
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _autocommit(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
