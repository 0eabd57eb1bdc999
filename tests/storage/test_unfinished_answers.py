"""The replicas' once-a-second sweep for unfinished answers (bot/telegram/maintenance.py):
which chats it finds, and that it reads the partial index of unfinished answers rather than
the whole messages table (on each backend, with the schema the migrations make)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.storage.database import create_engine
from bot.storage.models import Chat, Conversation, Message, MessageRole, MessageStatus
from bot.telegram import maintenance

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(seconds=30)


async def test_the_sweep_finds_old_unfinished_answers_through_their_partial_index(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            # Chats 1-5: 1 streaming since long ago, 2 stored but undelivered, 3 streaming
            # just now (its replica is alive), 4 complete, 5 failed; and a long history.
            chats = range(1, 6)
            await conn.execute(insert(Chat), [{"id": c, "type": "private"} for c in chats])
            await conn.execute(insert(Conversation), [{"id": c, "chat_id": c} for c in chats])
            history = [
                {"conversation_id": 4, "role": MessageRole.USER, "status": MessageStatus.COMPLETE,
                 "text": "x", "updated_at": OLD}
                for _ in range(5000)
            ]
            await conn.execute(insert(Message), history)
            unfinished = [
                (1, MessageStatus.STREAMING, None, OLD),
                (2, MessageStatus.COMPLETE, True, OLD),
                (3, MessageStatus.STREAMING, None, NOW),
                (4, MessageStatus.COMPLETE, None, OLD),
                (5, MessageStatus.FAILED, None, OLD),
            ]
            await conn.execute(insert(Message), [
                {"conversation_id": c, "role": MessageRole.ASSISTANT, "status": status,
                 "delivery_pending": pending, "updated_at": at}
                for c, status, pending, at in unfinished
            ])
            if conn.dialect.name == "postgresql":
                await conn.execute(text("ANALYZE messages"))

        async with async_sessionmaker(engine)() as session:
            found = await maintenance.streaming_chats(session, NOW - dt.timedelta(seconds=2))
        assert sorted(found) == [1, 2]

        query = maintenance.streaming_chats_query(NOW - dt.timedelta(seconds=2))
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                sql = str(query.compile(conn.sync_engine))
                params = query.compile(conn.sync_engine).params
                plan = (await conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + sql, tuple(params.values())
                )).all()
                lines = [str(row[-1]) for row in plan]
            else:
                # The plan PostgreSQL picks for the values bound (asyncpg prepares the
                # statement; the partial index is chosen on the values' plan as here).
                sql = str(query.compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                ))
                plan = (await conn.exec_driver_sql("EXPLAIN " + sql)).all()
                lines = [str(row[0]) for row in plan]
        assert any("ix_messages_unfinished" in line for line in lines), lines
    finally:
        await engine.dispose()
