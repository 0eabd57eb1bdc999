"""The full-text half of retrieval on SQLite and PostgreSQL: which passages it ranks, and the
bound on a question made only of too-common words (passages holding two of them at least)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from sqlalchemy import text

from bot.features.knowledge.repository import KnowledgeRepository, NewPassage
from bot.features.knowledge.search import COMMON_MIN, FALLBACK_TERMS, LexicalQuery, Retriever
from bot.foundation_models.embedder import Embedder
from bot.storage.database import Database
from tests.features.knowledge.conftest import KbFactory

MODEL = "emb-doc"
DIM = 8


class NoEmbeddings:
    async def embedding(self, text: str, *, model: str, retry: object = None) -> object:
        raise AssertionError("the tests give the query vectors themselves")


async def store(db: Database, bodies: list[str]) -> list[int]:
    """One document per body (stems as the words: these are stemmed already); ids in order."""
    rng = np.random.default_rng(16)
    async with db.sessionmaker() as session:
        repo = KnowledgeRepository(session)
        for number, body in enumerate(bodies):
            digest = f"{number:064d}"
            vector = rng.standard_normal(DIM).astype(np.float32)
            await repo.put_embedding(digest, MODEL, "v", vector.tobytes())
            await repo.replace_document(
                root="/kb", path=f"doc{number}.md", title=f"Doc {number}", url=None,
                content_hash=digest, model=MODEL,
                passages=[NewPassage(0, "", body, body, digest)],
            )
        await session.commit()
        ids = await repo.passages(list(range(1, len(bodies) + 1)))
    return sorted(ids)


async def test_at_least_two_terms_ranks_only_passages_holding_two_with_the_same_scores(
    database: Database,
) -> None:
    ids = await store(database, [
        "alpha beta gamma",  # three of the terms
        "alpha beta zeta",  # two
        "alpha alpha alpha zeta",  # one, often
        "gamma zeta",  # one
        "beta gamma gamma",  # two
        "zeta eta",  # none
    ])
    async with database.read_sessionmaker() as session:
        repo = KnowledgeRepository(session)
        every = dict(await repo.lexical(["alpha", "beta", "gamma"], 30))
        two = await repo.lexical(["alpha", "beta", "gamma"], 30, min_terms=2)
        three = await repo.lexical(["alpha", "beta", "gamma"], 30, min_terms=3)
        more = await repo.lexical(["alpha", "beta"], 30, min_terms=5)  # as many as there are
    assert set(every) == {ids[0], ids[1], ids[2], ids[3], ids[4]}
    assert {passage for passage, _ in two} == {ids[0], ids[1], ids[4]}
    assert [passage for passage, _ in three] == [ids[0]]
    assert {passage for passage, _ in more} == {ids[0], ids[1]}
    assert two[0][0] == ids[0]  # the one holding all three ranks first
    if database.engine.dialect.name == "postgresql":  # ts_rank: a passage's own score
        for passage, score in two:
            assert abs(score - every[passage]) < 1e-6


@pytest.mark.slow
async def test_a_question_of_only_common_words_keeps_the_rarest_and_needs_two(
    database: Database,
) -> None:
    count = 4 * COMMON_MIN  # common: in more than COMMON_MIN passages
    # "zork" in every passage, "blip" in 2 of 3, "quax" in half, "frob" in 3 of 10, "glim"
    # in 5 (not common), "word{n}" in one each.
    bodies = []
    for n in range(count):
        words = [f"word{n}", "zork"]
        words += ["blip"] * (n % 3 != 0) + ["quax"] * (n % 2 == 0) + ["frob"] * (n % 10 < 3)
        words += ["glim"] * (n < 5)
        bodies.append(" ".join(words))
    await store(database, bodies)
    embedder = Embedder(NoEmbeddings(), doc_model=MODEL,  # type: ignore[arg-type]
                        query_model="emb-query", rps=10)
    retriever = Retriever(sessionmaker=database.read_sessionmaker, embedder=embedder,
                          min_score=0.0, search_sessionmaker=database.search_sessionmaker)
    await retriever.refresh(force=True)
    assert retriever.query_terms("glim zork word7") == LexicalQuery(("glim", "word7"))
    common = retriever.query_terms("zork blip quax frob")
    assert common == LexicalQuery(("frob", "quax", "blip"), min_terms=2)
    assert len(common.terms) == FALLBACK_TERMS
    assert retriever.query_terms("zork") == LexicalQuery(("zork",), min_terms=1)
    found = await retriever.search_vector("zork blip quax frob", np.ones(DIM, np.float32), 30)
    holding_two = {n for n, body in enumerate(bodies)
                   if sum(word in body.split() for word in ("frob", "quax", "blip")) >= 2}
    ranked = [hit for hit in found.hits if hit.lexical_rank is not None]
    assert len(ranked) >= 5
    assert all(int(hit.path.removeprefix("doc").removesuffix(".md")) in holding_two
               for hit in ranked)


async def test_search_sessions_run_without_begin_and_rollback_on_postgresql(
    postgres_url: str,
) -> None:
    database = Database(postgres_url)
    try:
        async with database.search_sessionmaker() as session:
            first = await session.scalar(text("SELECT now()"))
            await asyncio.sleep(0.01)
            second = await session.scalar(text("SELECT now()"))
        async with database.read_sessionmaker() as session:
            third = await session.scalar(text("SELECT now()"))
            await asyncio.sleep(0.01)
            fourth = await session.scalar(text("SELECT now()"))
    finally:
        await database.dispose()
    # now() is the start of the transaction: one per statement in a search session.
    assert second > first
    assert fourth == third


@pytest.mark.slow
async def test_a_sync_that_changed_passages_leaves_statistics_for_the_planner(
    make_kb: KbFactory, database: Database
) -> None:
    kb = make_kb()
    await kb.sync()
    if database.engine.dialect.name != "postgresql":
        return  # FTS5 plans without statistics
    async with database.sessionmaker() as session:
        rows = await session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'kb_passages'"))
        passages = await session.scalar(text("SELECT count(*) FROM kb_passages"))
    assert rows == passages  # -1 (never analyzed) without it
