"""Knowledge-base benchmark: retrieval latency and memory at 10,000 passages, sync time vs quota.

    .venv/bin/python bench/bench_kb.py retrieval [--passages 10000] [--queries 300]
                                                 [--postgres URL | --no-postgres] [--no-sqlite]
                                                 [--explain] [--pgvector]
    .venv/bin/python bench/bench_kb.py sync [--passages 1000] [--rps 10]

retrieval: a fresh database (SQLite file; a throwaway PostgreSQL database when reachable) with
`--passages` synthetic passages (~120 words each, Russian and English words drawn Zipf-like
from a 6,000-word vocabulary, stemmed as the indexer does) and a random unit vector of 256
floats each; then `Retriever.search_vector` (full-text query + exact vector search + fusion +
reading the hits: everything but the query's embedding call) for `--queries` questions of 4-9
words. Prints p50/p95/max, and the resident memory the loaded vector index added to the
process (RSS before and after `refresh()` and the searches). `--explain` adds, on PostgreSQL,
EXPLAIN ANALYZE of every question's full-text statement as a search sends it. `--pgvector`
also runs it on PostgreSQL 16 with pgvector (the `pgserver` wheel's binaries, a dev extra,
started on a Unix socket for the run and removed after it): the vector part in the database.

sync: `--passages` passages in files of 10 sections against the fake Yandex server enforcing
`--rps` embedding requests per second (429 above it, as the real quota), EMBEDDING_RPS set to
the same; prints the sync time against the quota's floor (passages / rps) and the 429 count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# As the bot does (bot/features/knowledge/__init__.py), before numpy loads: one BLAS thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from bench.throwaway_postgres import throwaway_postgres
from bot.features.knowledge import KbMode
from bot.features.knowledge.base import KnowledgeBase
from bot.features.knowledge.pgvector import PgVectorRepository
from bot.features.knowledge.repository import KnowledgeRepository, NewPassage
from bot.features.knowledge.search import CANDIDATES, Retriever
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.embedder import Embedder
from bot.reading.stemming import search_text
from bot.storage.database import Database
from bot.storage.migrations import migrate
from tests.fakes.yandex.server import FakeFoundationModels
from tests.pgvector_server import PgvectorServer

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DIM = 256
SEED_WORDS = [
    "order", "delivery", "return", "refund", "payment", "card", "account", "password", "warranty",
    "repair", "invoice", "parcel", "courier", "pickup", "discount", "code", "gift", "points",
    "laptop", "printer", "network", "email", "phone", "заказ", "доставка", "возврат", "деньги",
    "оплата", "карта", "пароль", "гарантия", "ремонт", "счёт", "посылка", "курьер", "скидка",
    "промокод", "ноутбук", "принтер", "сеть", "почта", "телефон", "отпуск", "заявка", "сотрудник",
    "офис",
]


def vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    words = list(SEED_WORDS)
    latin, cyrillic = "abcdefghijklmnopqrstuvwxyz", "абвгдежзиклмнопрстуфхцчшэюя"
    while len(words) < size:
        alphabet = cyrillic if rng.random() < 0.5 else latin
        words.append("".join(rng.choice(alphabet) for _ in range(rng.randint(4, 10))))
    return words


# Zipf's law holds for all the words of a text; the first ranks are function words, which the
# stemmer leaves out of the index and of queries. So content words are drawn from rank 50 on.
STOP_RANKS = 50


def zipf_words(rng: random.Random, words: list[str], count: int) -> list[str]:
    weights = [1.0 / (rank + 1 + STOP_RANKS) for rank in range(len(words))]
    return rng.choices(words, weights=weights, k=count)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def fill(db: Database, passages: int, rng: random.Random, words: list[str]) -> None:
    per_document = 10
    for start in range(0, passages, per_document * 50):
        async with db.sessionmaker() as session:
            repo = KnowledgeRepository(session)
            for doc in range(start, min(passages, start + per_document * 50), per_document):
                rows = []
                for ordinal in range(per_document):
                    body = " ".join(zipf_words(rng, words, 120))
                    digest = uuid.uuid4().hex + uuid.uuid4().hex
                    vector = rng_vector(rng)
                    await repo.put_embedding(digest, "emb-doc", "bench", vector.tobytes())
                    rows.append(NewPassage(ordinal, f"Section {ordinal}", body,
                                           search_text(body), digest))
                document_id = await repo.replace_document(
                    root="/bench", path=f"doc{doc}.md", title=f"Document {doc}", url=None,
                    content_hash=uuid.uuid4().hex, model="emb-doc", passages=rows,
                )
                if await PgVectorRepository(session).enabled():  # as the indexer does
                    await PgVectorRepository(session).add_document(document_id, "emb-doc")
            await session.commit()


def rng_vector(rng: random.Random) -> np.ndarray:
    values = np.array([rng.gauss(0, 1) for _ in range(DIM)], dtype=np.float32)
    return values / np.linalg.norm(values)


class NoEmbeddings:
    """search_vector gets its vectors directly; nothing may call the model."""

    async def embedding(self, text: str, *, model: str, retry: object = None) -> object:
        raise AssertionError("no embedding calls in the retrieval benchmark")


async def bench_retrieval(
    url: str, label: str, passages: int, queries: int, explain: bool = False
) -> None:
    await migrate(url)
    db = Database(url)
    rng = random.Random(16)
    words = vocabulary(rng)
    try:
        started = time.perf_counter()
        await fill(db, passages, rng, words)
        async with db.sessionmaker() as session:  # as a sync that changed something does
            await KnowledgeRepository(session).analyze()
            await session.commit()
        print(f"[{label}] {passages:,} passages stored in {time.perf_counter() - started:.1f} s")
        embedder = Embedder(NoEmbeddings(), doc_model="emb-doc",  # type: ignore[arg-type]
                            query_model="emb-query", rps=10)
        retriever = Retriever(sessionmaker=db.read_sessionmaker, embedder=embedder,
                              min_score=0.3, search_sessionmaker=db.search_sessionmaker)
        before = rss_mb()
        started = time.perf_counter()
        await retriever.refresh(force=True)
        load = time.perf_counter() - started
        loaded = rss_mb()
        questions = [" ".join(zipf_words(rng, words, rng.randint(4, 9))) for _ in range(queries)]
        vectors = [rng_vector(rng) for _ in range(queries)]
        for question, vector in zip(questions[:20], vectors[:20], strict=True):  # warm up
            await retriever.search_vector(question, vector, 5)
        times = []
        cpu = time.process_time()
        for question, vector in zip(questions, vectors, strict=True):
            started = time.perf_counter()
            await retriever.search_vector(question, vector, 5)
            times.append((time.perf_counter() - started) * 1000)
        cpu = (time.process_time() - cpu) / queries * 1000
        after = rss_mb()
        lexical, vector_only = [], []
        for question, vector in zip(questions, vectors, strict=True):
            started = time.perf_counter()
            async with db.search_sessionmaker() as session:  # as in search_vector
                repo = KnowledgeRepository(session)
                lexical_query = retriever.query_terms(question)
                await repo.lexical(lexical_query.terms, CANDIDATES,
                                   min_terms=lexical_query.min_terms)
            lexical.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            if retriever.pgvector:  # in a search session, as search_vector does
                async with db.search_sessionmaker() as session:
                    await PgVectorRepository(session).nearest("emb-doc", vector.tobytes(),
                                                              CANDIDATES)
            else:
                retriever.index.search(vector, CANDIDATES)
            vector_only.append((time.perf_counter() - started) * 1000)
        print(f"[{label}] parts: full-text query p50 {statistics.median(lexical):.2f} ms, "
              f"p95 {sorted(lexical)[int(len(lexical) * 0.95) - 1]:.2f} ms; vector search p50 "
              f"{statistics.median(vector_only):.2f} ms, p95 "
              f"{sorted(vector_only)[int(len(vector_only) * 0.95) - 1]:.2f} ms"
              f"{' (pgvector)' if retriever.pgvector else ' (numpy)'}")
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"[{label}] vectors loaded in {load:.2f} s: {len(retriever.index):,} x {DIM} "
              f"({retriever.index.nbytes / 2**20:.1f} MB of arrays)" if not retriever.pgvector
              else f"[{label}] pgvector: no vectors held in the process ({load:.2f} s)")
        print(f"[{label}] retrieval without the embedding call, {queries} queries: "
              f"p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, max {times[-1]:.2f} ms; "
              f"this process's CPU {cpu:.2f} ms per query (the database server's not counted)")
        print(f"[{label}] RSS {before:.1f} -> {loaded:.1f} (vectors loaded) -> {after:.1f} MB "
              f"(after the searches): +{after - before:.1f} MB")
        if explain and db.engine.dialect.name == "postgresql":
            await explain_full_text(db, retriever, questions)
    finally:
        await db.dispose()


async def explain_full_text(db: Database, retriever: Retriever, questions: list[str]) -> None:
    """EXPLAIN ANALYZE of each question's full-text statement as a search sends it: planning
    and execution, sequential scans, matching rows; questions of only too-common stems apart."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    stats: dict[bool, list[tuple[float, float, int, bool]]] = {False: [], True: []}
    async with db.search_sessionmaker() as session:
        conn = await session.connection()
        repo = KnowledgeRepository(session)
        for question in questions:
            lexical_query = retriever.query_terms(question)
            if not lexical_query.terms:
                continue
            sent.clear()
            event.listen(conn.sync_connection, "before_cursor_execute", capture)
            try:
                await repo.lexical(lexical_query.terms, CANDIDATES,
                                   min_terms=lexical_query.min_terms)
            finally:
                event.remove(conn.sync_connection, "before_cursor_execute", capture)
            statement, parameters = sent[0]
            output = (await conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)).scalar_one()
            plan = (json.loads(output) if isinstance(output, str) else output)[0]
            nodes = list(_plan_nodes(plan["Plan"]))
            matched = max((n.get("Actual Rows", 0) for n in nodes
                           if n["Node Type"] in ("Seq Scan", "Bitmap Heap Scan")), default=0)
            seq = any(n["Node Type"] == "Seq Scan" for n in nodes)
            stats[lexical_query.min_terms > 1].append(
                (plan["Planning Time"], plan["Execution Time"], matched, seq))
    every = stats[False] + stats[True]
    print(f"[explain] {len(every)} full-text statements: planning p50 "
          f"{_pct([x[0] for x in every], 50):.2f} / p95 {_pct([x[0] for x in every], 95):.2f} ms,"
          f" execution p50 {_pct([x[1] for x in every], 50):.2f} / p95 "
          f"{_pct([x[1] for x in every], 95):.2f} ms; sequential scans: "
          f"{sum(x[3] for x in every)}")
    for fallback, rows in stats.items():
        if rows:
            print(f"[explain] {'only too-common stems' if fallback else 'other questions'}: "
                  f"{len(rows)}, rows matched p50 {_pct([x[2] for x in rows], 50):.0f} / max "
                  f"{max(x[2] for x in rows)}, execution p50 {_pct([x[1] for x in rows], 50):.2f}"
                  f" / p95 {_pct([x[1] for x in rows], 95):.2f} / max "
                  f"{max(x[1] for x in rows):.2f} ms")


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def _pct(values: list[float] | list[int], percent: int) -> float:
    ordered = sorted(values)
    return float(ordered[max(0, int(len(ordered) * percent / 100) - 1)]) if ordered else 0.0


async def bench_sync(passages: int, rps: float) -> None:
    files = passages // 10
    async with FakeFoundationModels(api_key="k", folder_id="f") as fm:
        fm.embedding_rps_limit = rps
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "kb"
            root.mkdir()
            rng = random.Random(7)
            words = vocabulary(rng)
            for number in range(files):
                sections = [f"## Section {k}\n\n" + " ".join(zipf_words(rng, words, 60))
                            for k in range(10)]
                (root / f"doc{number}.md").write_text(f"# Doc {number}\n\n" + "\n\n".join(
                    sections), encoding="utf-8")
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'kb.db'}"
            await migrate(url)
            db = Database(url)
            client = FoundationModelsClient(folder_id="f", auth=ApiKeyAuth("k"), llm_url=fm.url)
            embedder = Embedder(client, doc_model="text-search-doc/latest",
                                query_model="text-search-query/latest", rps=rps)
            kb = KnowledgeBase(sessionmaker=db.sessionmaker, embedder=embedder, roots=[root],
                               mode=KbMode.ASSIST)
            try:
                cpu = time.process_time()
                report = await kb.sync()
                cpu = time.process_time() - cpu
            finally:
                await client.aclose()
                await db.dispose()
    floor = report.embedded / rps
    print(f"sync of {report.passages:,} passages ({report.files} files) at EMBEDDING_RPS={rps:g}: "
          f"{report.seconds:.1f} s; the quota allows no less than {floor:.1f} s "
          f"(+{(report.seconds / floor - 1) * 100:.1f}%); {fm.embedding_429s} responses 429; "
          f"process CPU {cpu:.1f} s (bot and fake server together)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("retrieval", "sync"))
    parser.add_argument("--passages", type=int, default=None)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rps", type=float, default=10.0)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--pgvector", action="store_true",
                        help="also on PostgreSQL with pgvector (the pgserver wheel)")
    parser.add_argument("--explain", action="store_true",
                        help="PostgreSQL: EXPLAIN ANALYZE each question's full-text statement")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if args.what == "sync":
        await bench_sync(args.passages or 1000, args.rps)
        return
    passages = args.passages or 10_000
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            await bench_retrieval(f"sqlite+aiosqlite:///{Path(tmp) / 'kb.db'}", "sqlite",
                                  passages, args.queries)
    if not args.no_postgres:
        async with throwaway_postgres(args.postgres) as url:
            if url is not None:
                await bench_retrieval(url, "postgres", passages, args.queries, args.explain)
    if args.pgvector:
        server = PgvectorServer()
        try:
            url = await asyncio.to_thread(server.start)
            await bench_retrieval(url, "pgvector", passages, args.queries, args.explain)
        finally:
            server.stop()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
