"""pgvector on PostgreSQL: a real server with the extension (tests/pgvector_server.py), the
migration that enables it, the sync that keeps the vector copies, and searches that rank and
score exactly as the numpy path does (so KB_MIN_SCORE means the same on both)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from bot.features.knowledge import KbMode
from bot.features.knowledge.base import KnowledgeBase
from bot.features.knowledge.pgvector import PgVectorRepository, as_pgvector
from bot.features.knowledge.repository import KnowledgeRepository, NewPassage
from bot.features.knowledge.vectors import VectorIndex
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.embedder import Embedder
from bot.storage.database import Database
from bot.storage.migrations import downgrade_blocking, migrate_blocking
from tests.db import _execute_autocommit
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.knowledge.conftest import FIXTURE, FIXTURE_MIN_SCORE
from tests.features.knowledge.test_eval_fixture import environment, figure, fmbot

DOC_MODEL = "text-search-doc/latest"
QUESTIONS = [
    "How many days do I have to send something back?", "Как сбросить пароль?",
    "Do you deliver on weekends?", "Не работает принтер в офисе", "How do I set up VPN?",
    "Сколько идёт возврат денег на карту?", "Can I pay with a gift card?", "Do you sell cars?",
]


def kb_on(url: str, client: FoundationModelsClient, docs: Path) -> tuple[Database, KnowledgeBase]:
    db = Database(url)
    embedder = Embedder(client, doc_model=DOC_MODEL, query_model="text-search-query/latest",
                        rps=1000.0, backoff=0.01)
    return db, KnowledgeBase(sessionmaker=db.sessionmaker, embedder=embedder, roots=[docs],
                             mode=KbMode.ASSIST, min_score=FIXTURE_MIN_SCORE,
                             read_sessionmaker=db.read_sessionmaker,
                             search_sessionmaker=db.search_sessionmaker)


async def test_the_migration_enables_pgvector_and_copies_the_indexed_vectors(
    pgvector_url: str,
) -> None:
    await asyncio.to_thread(migrate_blocking, pgvector_url, "0004")
    vectors = {f"h{n}": np.random.default_rng(n).normal(size=256).astype(np.float32)
               for n in range(3)}
    db = Database(pgvector_url)
    try:
        async with db.sessionmaker() as session:
            repo = KnowledgeRepository(session)
            for digest, vector in vectors.items():
                await repo.put_embedding(digest, DOC_MODEL, "v1", vector.tobytes())
            await repo.put_embedding("h0", "old-model", "v0", vectors["h1"].tobytes())
            await repo.replace_document(
                root="/kb", path="a.md", title="A", url=None, content_hash="d", model=DOC_MODEL,
                passages=[NewPassage(n, "", f"text {n}", f"text {n}", f"h{n}") for n in (0, 1)],
            )
            await session.commit()
        await asyncio.to_thread(migrate_blocking, pgvector_url, "head")
        async with db.sessionmaker() as session:
            assert await PgVectorRepository(session).enabled()
            rows = (await session.execute(text(
                "SELECT p.content_hash, v.model, v.embedding::text FROM kb_passage_vectors v "
                "JOIN kb_passages p ON p.id = v.passage_id"))).all()
        assert sorted(row[0] for row in rows) == ["h0", "h1"]  # the indexed passages only
        for digest, model, stored in rows:  # normalised, from the document's model
            assert model == DOC_MODEL
            copy = np.array(stored.strip("[]").split(","), dtype=np.float32)
            expected = vectors[digest] / np.linalg.norm(vectors[digest])
            assert np.allclose(copy, expected, atol=1e-7)
        await asyncio.to_thread(downgrade_blocking, pgvector_url, "0004")
        async with db.sessionmaker() as session:
            assert not await PgVectorRepository(session).enabled()
    finally:
        await db.dispose()


async def test_without_the_right_to_create_the_extension_the_migration_leaves_numpy(
    pgvector_server: str,
) -> None:
    role = f"fmbot_plain_{random.randrange(10**6)}"
    name = f"fmbot_{role}"
    await _execute_autocommit(pgvector_server, f"CREATE ROLE {role} LOGIN",
                              f'CREATE DATABASE "{name}" OWNER {role}')
    url = pgvector_server.replace("postgres@/postgres?", f"{role}@/{name}?")
    try:
        await asyncio.to_thread(migrate_blocking, url, "head")  # no error: numpy instead
        db = Database(url)
        try:
            async with db.sessionmaker() as session:
                assert not await PgVectorRepository(session).enabled()
                extension = await session.scalar(text(
                    "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"))
            assert extension == 0
        finally:
            await db.dispose()
    finally:
        await _execute_autocommit(
            pgvector_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f"DROP ROLE IF EXISTS {role}")


async def test_pgvector_ranks_and_scores_as_the_numpy_path(
    pgvector_url: str, client: FoundationModelsClient, docs: Path
) -> None:
    await asyncio.to_thread(migrate_blocking, pgvector_url, "head")
    db, kb = kb_on(pgvector_url, client, docs)
    try:
        await kb.sync()
        assert kb.retriever.pgvector
        assert len(kb.retriever.index) == 0  # no matrix held in the bot
        async with db.sessionmaker() as session:
            repo = KnowledgeRepository(session)
            in_memory = await VectorIndex.from_stream(repo.vectors(DOC_MODEL), 100)
            in_database = PgVectorRepository(session)
            assert len(in_memory) == 71
            for question in QUESTIONS:
                query = (await kb.embedder.query(question)).values
                expected = in_memory.search(query, 30)
                found = await in_database.nearest(DOC_MODEL, query.tobytes(), 30)
                # The same scores in the same order; two passages may swap only when numpy
                # scores them alike (float32 sums in another order differ by ~1e-7).
                assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-5)
                numpy_scores = in_memory.similarities(query, [p for p, _ in found])
                assert [numpy_scores[p] for p, _ in found] == pytest.approx(
                    [s for _, s in expected], abs=1e-5)
                assert [p for p, _ in found[:5]] == [p for p, _ in expected[:5]]
                some = [p for p, _ in expected[::7]] + [10**9]  # and one that does not exist
                assert await in_database.similarities(DOC_MODEL, query.tobytes(), some) == (
                    pytest.approx(in_memory.similarities(query, some), abs=1e-5))
                # The whole search: each hit scored as numpy scores it.
                retrieval = await kb.search(question)
                scores = in_memory.similarities(query, [h.passage_id for h in retrieval.hits])
                assert [h.score for h in retrieval.hits] == pytest.approx(
                    [scores[h.passage_id] for h in retrieval.hits], abs=1e-5)
                assert retrieval.covered == (max(scores.values()) >= FIXTURE_MIN_SCORE)
    finally:
        await db.dispose()


async def test_a_sync_keeps_the_vector_copies_of_changed_and_new_passages(
    pgvector_url: str, client: FoundationModelsClient, docs: Path
) -> None:
    await asyncio.to_thread(migrate_blocking, pgvector_url, "head")
    db, kb = kb_on(pgvector_url, client, docs)
    without_vectors = text(
        "SELECT count(*) FROM kb_passages p LEFT JOIN kb_passage_vectors v "
        "ON v.passage_id = p.id WHERE v.passage_id IS NULL")
    try:
        await kb.sync()
        before = await kb.search("Do you deliver parcels to Antarctica by penguin?")
        (docs / "shop" / "antarctica.md").write_text(
            "# Delivery to Antarctica\n\nWe deliver parcels to Antarctica by penguin courier "
            "within 90 days.\n", encoding="utf-8")
        report = await kb.sync()
        assert report.embedded >= 1
        after = await kb.search("Do you deliver parcels to Antarctica by penguin?")
        assert after.hits[0].path == "shop/antarctica.md"
        assert after.hits[0].vector_rank == 1
        assert after.best_score > before.best_score
        async with db.sessionmaker() as session:
            assert await session.scalar(without_vectors) == 0
            assert await session.scalar(text("SELECT count(*) FROM kb_passage_vectors")) == (
                await session.scalar(text("SELECT count(*) FROM kb_passages")))
    finally:
        await db.dispose()


async def test_kb_eval_on_pgvector_reaches_the_quality_targets(
    pgvector_url: str, fm: FakeFoundationModels, tmp_path: Path
) -> None:
    env = environment(fm, tmp_path, DATABASE_URL=pgvector_url)
    code, out, err = await fmbot("kb", "sync", env=env)
    assert code == 0, err
    code, out, err = await fmbot("kb", "eval", str(FIXTURE / "eval.jsonl"), env=env)
    assert code == 0, err
    assert figure(r"recall@5: ([\d.]+)", out) >= 0.90
    assert figure(r"abstain at KB_MIN_SCORE=[\d.]+: precision [\d.]+, recall [\d.]+, F1 ([\d.]+)",
                  out) >= 0.80


async def test_on_postgresql_without_pgvector_the_vectors_are_searched_with_numpy(
    postgres_url: str, client: FoundationModelsClient, docs: Path
) -> None:
    """The shared server (Debian's PostgreSQL, no pgvector): the same code, numpy's path."""
    db, kb = kb_on(postgres_url, client, docs)
    try:
        await kb.sync()
        assert not kb.retriever.pgvector
        assert len(kb.retriever.index) == 71
        retrieval = await kb.search("Как сбросить пароль?")
        assert retrieval.covered
        assert retrieval.hits[0].path == "it/parol.md"
    finally:
        await db.dispose()


def test_the_text_form_is_the_normalised_vector() -> None:
    vector = 3 * np.random.default_rng(3).normal(size=256).astype(np.float32)
    parsed = np.array(as_pgvector(vector.tobytes()).strip("[]").split(","), dtype=np.float32)
    assert np.allclose(parsed, vector / np.linalg.norm(vector), rtol=0, atol=1e-7)
    assert abs(float(np.linalg.norm(parsed)) - 1.0) < 1e-6
