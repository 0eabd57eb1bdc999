"""Hybrid retrieval: full-text (stemmed) and exact vector search, fused by reciprocal rank.

RRF (Cormack et al., 2009; k=60) needs no calibration between BM25 and cosine scores, and
is what Yandex recommends for help articles; on a Banking77 run (10,003 questions as the base,
3,080 asked) it was close to dense retrieval alone (R@1 0.911 against 0.919) and far above
BM25 (0.804): insurance for product names and codes, not a free win.
Whether the question is covered is decided on the best hit's cosine similarity alone
(KB_MIN_SCORE): it is comparable between questions, unlike BM25 or fused scores.

The vector part runs in memory (vectors.py, numpy), or on PostgreSQL with pgvector in the
database (pgvector.py): the same exact search and the same scores, without the matrix.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.knowledge.models import KbPassage
from bot.features.knowledge.pgvector import PgVectorRepository
from bot.features.knowledge.repository import KnowledgeRepository
from bot.features.knowledge.types import Hit, Retrieval
from bot.features.knowledge.vectors import VectorIndex, release_freed_memory
from bot.plugin.models import Embedder, query_text
from bot.plugin.reading import stems

log = logging.getLogger(__name__)
RRF_K = 60
CANDIDATES = 30  # from each of the two rankings
# Full-text query terms in more passages than this (share, and at least COMMON_MIN passages)
# are left out of the query: they cost the database a ranking of every passage holding them
# and weigh next to nothing in BM25 (idf ~ log(1/share)). Small knowledge bases never hit it.
COMMON_SHARE = 0.02
COMMON_MIN = 100
FALLBACK_TERMS = 3


@dataclass(frozen=True, slots=True)
class IndexState:
    """What the in-memory vectors were loaded from (a change means: reload)."""

    passages: int
    max_id: int


@dataclass(frozen=True, slots=True)
class LexicalQuery:
    """The full-text part of a search: its stems, and how many a passage must hold."""

    terms: tuple[str, ...]
    min_terms: int = 1


class Retriever:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        embedder: Embedder,
        min_score: float,
        search_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        """`sessionmaker` loads the vectors (streamed: in a transaction); searches use
        `search_sessionmaker` (Database.search_sessionmaker), `sessionmaker` by default."""
        self._sessionmaker = sessionmaker
        self._search_sessionmaker = search_sessionmaker or sessionmaker
        self._embedder = embedder
        self.min_score = min_score
        self.index = VectorIndex()
        self.pgvector = False  # vectors searched in PostgreSQL, none held here
        self._state: IndexState | None = None
        self._common: dict[str, int] = {}  # too-common stems -> passages holding them
        # The passages only some groups may read (issue 81), with those groups.
        self._restricted: dict[int, frozenset[str]] = {}

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload the vectors when the stored passages changed (also by another process, such
        as `fmbot kb sync`); True when reloaded."""
        async with self._sessionmaker() as session:
            count, max_id = (await session.execute(
                select(func.count(), func.coalesce(func.max(KbPassage.id), 0))
            )).one()
            state = IndexState(int(count), int(max_id))
            if not force and state == self._state:
                return False
            repo = KnowledgeRepository(session)
            self.pgvector = await PgVectorRepository(session).enabled()
            self.index = VectorIndex()  # the old matrix goes before the new one is built
            if not self.pgvector:
                self.index = await VectorIndex.from_stream(
                    repo.vectors(self._embedder.doc_model), state.passages
                )
            self._common = await common_terms(repo, state.passages)
            self._restricted = await repo.restricted()
            await repo.shrink_cache()
        release_freed_memory()
        self._state = state
        if self.pgvector:
            log.info("knowledge base: %d passages, vectors searched with pgvector",
                     state.passages)
        else:
            log.info("knowledge base: %d passages in the vector index (%.1f MB)",
                     len(self.index), self.index.nbytes / 2**20)
        return True

    @property
    def searchable(self) -> int:
        """Passages the vector search covers: the matrix's rows, or with pgvector the passages
        at the last refresh (the database holds their vectors)."""
        if self.pgvector:
            return self._state.passages if self._state else 0
        return len(self.index)

    def query_terms(self, query: str) -> LexicalQuery:
        """The question's stems without the too-common ones. When nothing else is left, the
        FALLBACK_TERMS rarest of those, matched only in passages holding two of them at least:
        ts_rank adds 0.06-0.1 per query term a passage holds, so one holding two always ranks
        above one holding one, and the top CANDIDATES are the same whenever that many hold
        two; what it saves is ranking the thousands that hold only one."""
        terms = list(dict.fromkeys(stems(query)))
        kept = [term for term in terms if term not in self._common]
        if kept or not terms:
            return LexicalQuery(tuple(kept))
        rarest = sorted(terms, key=lambda term: self._common[term])[:FALLBACK_TERMS]
        return LexicalQuery(tuple(rarest), min_terms=min(2, len(rarest)))

    def unreadable(self, readers: frozenset[str] | None) -> list[int]:
        """The passages someone in the `readers` groups may not read (None: every passage
        may be read: the deployment's own commands); an empty set reads only the open
        ones."""
        if readers is None:
            return []
        return sorted(i for i, groups in self._restricted.items() if not groups & readers)

    async def search(self, query: str, k: int,
                     readers: frozenset[str] | None = frozenset()) -> Retrieval:
        # Searched as embedded: within the embedding model's input limit (embedder.py).
        query = query_text(query)
        vector = await self._embedder.query(query)
        return await self.search_vector(query, vector.values, k, readers)

    async def search_vector(self, query: str, vector: np.ndarray, k: int,
                            readers: frozenset[str] | None = frozenset()) -> Retrieval:
        """The search after the query's embedding (what the latency budget covers). What
        `readers` may not read is left out of both rankings before they rank (issue 81):
        it never reaches the fusion, the prompt or the citations."""
        model, as_bytes = self._embedder.doc_model, vector.astype(np.float32).tobytes()
        lexical = self.query_terms(query)
        excluded = self.unreadable(readers)
        async with self._search_sessionmaker() as session:
            repo = KnowledgeRepository(session)
            in_database = PgVectorRepository(session)
            # (With pgvector, running the two rankings at once on two connections was tried:
            # no faster on this loaded 2-core machine, p95 19-20 ms against 13-19 ms.)
            if self.pgvector:
                by_vector = await in_database.nearest(model, as_bytes, CANDIDATES, excluded)
            else:
                by_vector = self.index.search(vector, CANDIDATES, excluded)
            by_text = await repo.lexical(lexical.terms, CANDIDATES,
                                         min_terms=lexical.min_terms, excluded=excluded)
            fused: dict[int, float] = {}
            vector_rank: dict[int, int] = {}
            text_rank: dict[int, int] = {}
            for rank, (passage_id, _) in enumerate(by_vector, start=1):
                fused[passage_id] = fused.get(passage_id, 0.0) + 1.0 / (RRF_K + rank)
                vector_rank[passage_id] = rank
            for rank, (passage_id, _) in enumerate(by_text, start=1):
                fused[passage_id] = fused.get(passage_id, 0.0) + 1.0 / (RRF_K + rank)
                text_rank[passage_id] = rank
            top = sorted(fused, key=lambda passage_id: -fused[passage_id])[:k]
            rows = await repo.passages(top)
            # Hits found by their words alone get their similarity computed apart.
            scores = dict(by_vector)
            missing = [passage_id for passage_id in top if passage_id not in scores]
            if missing and self.pgvector:
                scores.update(await in_database.similarities(model, as_bytes, missing))
            elif missing:
                scores.update(self.index.similarities(vector, missing))
        hits = []
        for passage_id in top:
            row = rows.get(passage_id)
            if row is None:  # deleted since the vectors were loaded
                continue
            score = scores.get(passage_id, 0.0)
            hits.append(Hit(passage_id, row.path, row.title, row.url, row.heading, row.text,
                            score, fused[passage_id], text_rank.get(passage_id),
                            vector_rank.get(passage_id)))
        covered = any(hit.score >= self.min_score for hit in hits)
        return Retrieval(query, tuple(hits), covered)


async def common_terms(repo: KnowledgeRepository, passages: int) -> dict[str, int]:
    """Stems found in more than COMMON_SHARE of the passages (and in COMMON_MIN at least)."""
    limit = max(COMMON_MIN, int(COMMON_SHARE * passages))
    if passages <= limit:
        return {}
    counts: Counter[str] = Counter()
    async for text in repo.search_texts():
        counts.update(set(text.split()))
    return {term: count for term, count in counts.items() if count > limit}
