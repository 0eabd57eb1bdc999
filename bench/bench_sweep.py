"""What one replica's once-a-second sweep for unfinished answers costs on a large history,
with the partial index of unfinished answers (migration 0007) and without it.

    .venv/bin/python bench/bench_sweep.py [--messages 200000] [--sweeps 200]
                                          [--postgres URL | --no-postgres]

Fills a fresh migrated database (a SQLite file; a throwaway PostgreSQL database when
reachable) with `--messages` finished messages over 2,000 chats and 20 unfinished answers,
then times `maintenance.streaming_chats` (the sweep's query) in interleaved rounds: index
dropped, index present, dropped, present... Prints the median and p95 wall time per sweep
for each, per backend.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.throwaway_postgres import throwaway_postgres
from bot.storage.database import create_engine
from bot.storage.migrations import migrate
from bot.storage.models import (
    Chat,
    Conversation,
    Message,
    MessageRole,
    MessageStatus,
)
from bot.telegram import maintenance

CHATS = 2000
UNFINISHED = 20
INDEX = "ix_messages_unfinished"


async def fill(engine: AsyncEngine, messages: int) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    async with engine.begin() as conn:
        ids = range(1, CHATS + 1)
        await conn.execute(insert(Chat), [{"id": c, "type": "private"} for c in ids])
        await conn.execute(insert(Conversation), [{"id": c, "chat_id": c} for c in ids])
        batch = 20_000
        for start in range(0, messages, batch):
            rows = [
                {"conversation_id": 1 + (i % CHATS), "role": MessageRole.USER if i % 2 else
                 MessageRole.ASSISTANT, "status": MessageStatus.COMPLETE, "text": "history",
                 "updated_at": old}
                for i in range(start, min(messages, start + batch))
            ]
            await conn.execute(insert(Message), rows)
        await conn.execute(insert(Message), [
            {"conversation_id": 1 + c * 97 % CHATS, "role": MessageRole.ASSISTANT,
             "status": MessageStatus.STREAMING, "updated_at": old}
            for c in range(UNFINISHED)
        ])
        await conn.execute(text("ANALYZE"))


async def index_sql(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = await conn.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": INDEX}
            )
        else:
            sql = await conn.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": INDEX}
            )
    assert sql, "migrations made no index of unfinished answers"
    return str(sql)


async def time_sweeps(engine: AsyncEngine, sweeps: int) -> list[float]:
    sessions = async_sessionmaker(engine)
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    took = []
    for _ in range(sweeps):
        began = time.perf_counter()
        found = await maintenance.streaming_chats(sessions, before)
        took.append((time.perf_counter() - began) * 1000)
        assert len(found) == UNFINISHED
    return took


async def run(url: str, label: str, messages: int, sweeps: int, rounds: int = 3) -> None:
    await migrate(url)
    engine = create_engine(url)
    try:
        began = time.perf_counter()
        await fill(engine, messages)
        print(f"{label}: {messages} messages stored in {time.perf_counter() - began:.1f} s")
        create = await index_sql(engine)
        results: dict[str, list[float]] = {"without index": [], "with index": []}
        for _ in range(rounds):
            async with engine.begin() as conn:
                await conn.execute(text(f"DROP INDEX {INDEX}"))
            results["without index"] += await time_sweeps(engine, sweeps)
            async with engine.begin() as conn:
                await conn.execute(text(create))
            results["with index"] += await time_sweeps(engine, sweeps)
        for name, took in results.items():
            took.sort()
            p95 = took[int(len(took) * 0.95)]
            print(f"  {name:14} median {statistics.median(took):7.2f} ms   p95 {p95:7.2f} ms")
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--sweeps", type=int, default=200)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'sweep.db'}"
        await run(url, "SQLite", args.messages, args.sweeps)
    if not args.no_postgres:
        async with throwaway_postgres(args.postgres) as pg:
            if pg is None:
                print("PostgreSQL: not reachable, skipped")
            else:
                await run(pg, "PostgreSQL", args.messages, args.sweeps)


if __name__ == "__main__":
    asyncio.run(main())
