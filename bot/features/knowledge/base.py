"""KnowledgeBase: the one object the rest of the bot uses (sync, search, status)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.knowledge import metrics
from bot.features.knowledge.followup import search_queries
from bot.features.knowledge.indexer import Indexer, Progress, SyncReport
from bot.features.knowledge.models import KbSyncRun
from bot.features.knowledge.repository import KnowledgeRepository
from bot.features.knowledge.search import Retriever
from bot.features.knowledge.types import KbMode, Retrieval
from bot.plugin.models import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KbStatus:
    mode: KbMode
    roots: tuple[str, ...]
    documents: int
    passages: int
    embeddings: int
    vectors: int
    model_versions: tuple[tuple[str, str, int], ...]
    last_run: KbSyncRun | None
    syncing: bool


class KnowledgeBase:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        embedder: Embedder,
        roots: Sequence[Path],
        mode: KbMode,
        top_k: int = 5,
        min_score: float = 0.35,
        read_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        search_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        removal_limit: float = 1.0,
    ) -> None:
        """`read_sessionmaker`: sessions for loading the index (on SQLite the database's read
        engine, so it never queues behind a sync's writes); the writer's by default.
        `search_sessionmaker`: sessions for searches (Database.search_sessionmaker: without
        a transaction on PostgreSQL); the read sessions by default."""
        self.mode = mode
        self.top_k = top_k
        self.roots = tuple(roots)
        self._sessionmaker = sessionmaker
        self.embedder = embedder
        self.indexer = Indexer(sessionmaker=sessionmaker, embedder=embedder, roots=roots,
                               removal_limit=removal_limit)
        self.retriever = Retriever(sessionmaker=read_sessionmaker or sessionmaker,
                                   embedder=embedder, min_score=min_score,
                                   search_sessionmaker=search_sessionmaker)

    @property
    def strict(self) -> bool:
        return self.mode is KbMode.STRICT

    async def load(self) -> None:
        """Load what is indexed (the bot answers from it while a sync runs)."""
        await self.retriever.refresh(force=True)

    async def refresh(self) -> bool:
        return await self.retriever.refresh()

    async def sync(
        self, progress: Callable[[Progress], None] | None = None, *, allow_removal: bool = False
    ) -> SyncReport:
        """`allow_removal`: remove documents gone from the folders even when they are
        KB_REMOVAL_LIMIT of the index or more (an admin's confirmation)."""
        report = await self.indexer.sync(progress, allow_removal=allow_removal)
        metrics.kb_embedded(report.embedded)
        await self.retriever.refresh()
        return report

    async def search(
        self, query: str, k: int | None = None, *, kind: str = "command",
        readers: frozenset[str] | None = frozenset(),
    ) -> Retrieval:
        """`kind` labels the search in the metrics: question (a chat turn) or command;
        `readers`: the asker's groups (only open documents by default; None: every document,
        for the deployment's own commands)."""
        metrics.kb_search(kind)
        return await self.retriever.search(query, k or self.top_k, readers)

    async def for_question(self, question: str, previous: Sequence[str],
                           readers: frozenset[str] = frozenset()) -> Retrieval:
        """Search for a chat question; a possible follow-up is also searched together with the
        question before it, and the better search is kept (see followup.py). `readers`: the
        asker's groups; what they may not read is never searched."""
        queries = search_queries(question, previous)
        found = await asyncio.gather(
            *(self.search(q, kind="question", readers=readers) for q in queries),
            return_exceptions=True,
        )
        results = [item for item in found if isinstance(item, Retrieval)]
        if not results:  # every search failed: the first error says why
            raise next(item for item in found if isinstance(item, BaseException))
        return max(results, key=lambda retrieval: retrieval.best_score)

    async def indexed_paths(self) -> set[str]:
        """The indexed documents' paths, relative to their KB_PATH folder."""
        async with self._sessionmaker() as session:
            return {document.path for document in await KnowledgeRepository(session).documents()}

    async def status(self) -> KbStatus:
        async with self._sessionmaker() as session:
            repo = KnowledgeRepository(session)
            stats = await repo.stats()
            versions = await repo.model_versions()
        return KbStatus(
            self.mode, tuple(str(root) for root in self.roots), stats.documents, stats.passages,
            stats.embeddings, self.retriever.searchable, tuple(versions), stats.last_run,
            self.indexer.running,
        )
