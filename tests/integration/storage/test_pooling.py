"""Pooled PostgreSQL connections are checked before use only after sitting idle
(bot/storage/pooling.py): a connection in steady use costs no round trip more, and one whose
server side went away while it sat idle is replaced before the next transaction needs it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.database import create_engine

pytestmark = pytest.mark.postgres


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(url: str, pid: int) -> None:
    """What a restarted server (or a proxy dropping idle connections) does to a connection."""
    other = create_engine(url, pool_pre_ping=False)
    try:
        async with other.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await conn.commit()
    finally:
        await other.dispose()
    await asyncio.sleep(0.2)  # the server closes the socket after answering


async def test_an_idle_connection_whose_server_side_went_away_is_replaced(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url, ping_after_idle=0.0, pool_size=1)
    try:
        first = await backend_pid(engine)
        await terminate(postgres_url, first)
        # Idle longer than `ping_after_idle`: checked, found gone, replaced; nothing fails.
        second = await backend_pid(engine)
        assert second != first
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_checked_first(postgres_url: str) -> None:
    """The check's cost is a round trip per transaction; a connection used a moment ago
    skips it. Shown by the one case where skipping shows: its server side was cut just
    before, so its next statement fails (SQLAlchemy then drops it) and the one after runs on
    a new connection."""
    engine = create_engine(postgres_url, ping_after_idle=600.0, pool_size=1)
    try:
        first = await backend_pid(engine)
        await terminate(postgres_url, first)
        with pytest.raises(DBAPIError) as caught:
            await backend_pid(engine)
        assert caught.value.connection_invalidated
        assert await backend_pid(engine) != first
    finally:
        await engine.dispose()
