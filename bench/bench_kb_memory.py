"""What a knowledge base of N passages adds to the bot's memory, measured in a fresh process.

    .venv/bin/python bench/bench_kb_memory.py [--passages 10000] [--postgres URL | --no-postgres]
                                              [--pgvector] [--queries 300]

The parent fills a database as bench_kb.py does (SQLite file; a throwaway PostgreSQL database
when reachable; with `--pgvector` PostgreSQL 16 with pgvector from the pgserver wheel), then
starts a child process that imports what `python -m bot run` imports (bot.cli, bot.wiring and
the Telegram app, no numpy) and uses its database engines: the bot's baseline; then imports
what the knowledge base adds (numpy, PyStemmer, bot.features.knowledge), loads the index as the bot
does and runs `--queries` searches (words of the passages, random vectors). It
prints the child's resident memory at each step: the total is what the issue's target ("<= 30
MB above the bot's baseline at 10,000 passages") is about, imports included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the bot sets it before numpy loads


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def child(url: str, queries: int) -> None:
    from sqlalchemy import text

    import bot.cli
    import bot.telegram.app
    import bot.wiring  # noqa: F401  (what `run` imports without a knowledge base)
    from bot.storage.database import Database

    # The baseline: the bot started, its database engines connected and used.
    db = Database(url)
    for sessionmaker in (db.sessionmaker, db.read_sessionmaker):
        async with sessionmaker() as session:
            await session.execute(text("SELECT count(*) FROM messages"))
    baseline = rss_mb()
    import numpy as np

    from bot.features.knowledge.base import KnowledgeBase  # noqa: F401  (all a bot with one loads)
    from bot.features.knowledge.search import Retriever
    from bot.features.knowledge.vectors import release_freed_memory
    from bot.foundation_models.embedder import Embedder

    imported = rss_mb()
    embedder = Embedder(None, doc_model="emb-doc",  # type: ignore[arg-type]
                        query_model="emb-query", rps=10)  # (no embedding call is made)
    retriever = Retriever(sessionmaker=db.read_sessionmaker, embedder=embedder,
                          min_score=0.3, search_sessionmaker=db.search_sessionmaker)
    await retriever.refresh(force=True)
    loaded = rss_mb()
    # Questions of 4-9 words from the passages themselves; random unit vectors.
    async with db.read_sessionmaker() as session:
        texts = list(await session.scalars(text(
            "SELECT search_text FROM kb_passages ORDER BY id LIMIT :n"), {"n": queries}))
    # Python's random, not numpy.random: the bot never imports numpy.random, whose import
    # alone is 6.7 MB of resident memory (it was counted as the searches' cost before).
    rng = random.Random(5)
    for search_text in texts:
        words = search_text.split()
        start = rng.randrange(max(1, len(words) - 9))
        vector = np.array([rng.gauss(0.0, 1.0) for _ in range(256)], dtype=np.float32)
        await retriever.search_vector(" ".join(words[start:start + rng.randint(4, 9)]),
                                      vector / np.linalg.norm(vector), 5)
    searched = rss_mb()
    release_freed_memory()  # what of that is freed memory the C heap kept
    trimmed = rss_mb()
    await db.dispose()
    path = "pgvector" if retriever.pgvector else f"numpy, {retriever.index.nbytes / 2**20:.1f} MB"
    print(f"  baseline {baseline:.1f} MB; + numpy, PyStemmer, bot.features.knowledge "
          f"+{imported - baseline:.1f}; + index loaded ({path}) +{loaded - imported:.1f}; "
          f"+ {len(texts)} searches +{searched - loaded:.1f}; total +{searched - baseline:.1f} MB"
          f" (+{trimmed - baseline:.1f} MB after malloc_trim)")


async def measure(url: str, label: str, passages: int, queries: int) -> None:
    from bench.bench_kb import fill, vocabulary
    from bot.features.knowledge.repository import KnowledgeRepository
    from bot.storage.database import Database
    from bot.storage.migrations import migrate

    await migrate(url)
    db = Database(url)
    rng = random.Random(16)
    await fill(db, passages, rng, vocabulary(rng))
    async with db.sessionmaker() as session:
        await KnowledgeRepository(session).analyze()
        await session.commit()
    await db.dispose()
    print(f"[{label}] {passages:,} passages; the bot's process:")
    await asyncio.to_thread(subprocess.run, [sys.executable, __file__, "--child", url,
                                             "--queries", str(queries)], check=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--pgvector", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        await child(args.child, args.queries)
        return
    from bench.throwaway_postgres import throwaway_postgres
    from tests.pgvector_server import PgvectorServer

    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            await measure(f"sqlite+aiosqlite:///{Path(tmp) / 'kb.db'}", "sqlite",
                          args.passages, args.queries)
    if not args.no_postgres:
        async with throwaway_postgres(args.postgres) as url:
            if url is not None:
                await measure(url, "postgres", args.passages, args.queries)
    if args.pgvector:
        server = PgvectorServer()
        try:
            await measure(await asyncio.to_thread(server.start), "pgvector", args.passages,
                          args.queries)
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
