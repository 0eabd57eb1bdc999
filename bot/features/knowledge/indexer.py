"""Sync: KB_PATH folders -> stored passages and embeddings, incrementally and resumably.

A file is re-indexed when its bytes or the document embedding model changed; unchanged files
cost one `stat` and a hash. Each passage's embedding is cached by the hash of what was
embedded and the model, and stored the moment it arrives, so a sync that is interrupted
(crash, restart, quota) continues where it stopped: the next one finds those embeddings in the
cache and asks Yandex only for the rest. A document's passages replace its old ones in one
transaction once all are embedded, so search never sees half a document. Files removed from
the folders are dropped; a file that cannot be read keeps its earlier version and is reported.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.knowledge.documents import (
    Candidate,
    Document,
    DocumentError,
    Skipped,
    content_digest,
    document_of,
    find_files,
    folder_access,
    read_bytes,
)
from bot.features.knowledge.pgvector import PgVectorRepository
from bot.features.knowledge.repository import KnowledgeRepository, NewPassage, StoredDocument
from bot.plugin.models import Embedder, FoundationModelsError
from bot.plugin.reading import (
    KB_CPU_SECONDS,
    KB_WALL_SECONDS,
    DocumentReader,
    Passage,
    passages,
    search_text,
)

log = logging.getLogger(__name__)
# Embedding requests in flight during a sync: enough to keep the pacer busy at 10 rps with
# Yandex's ~100-300 ms answers, few enough that a user's question is not queued behind many.
IN_FLIGHT = 4


@dataclass(slots=True)
class SyncReport:
    files: int = 0  # supported files found
    indexed: int = 0  # (re-)indexed in this run
    unchanged: int = 0
    removed: int = 0
    passages: int = 0  # passages of the files (re-)indexed now
    embedded: int = 0  # embedding requests made
    reused: int = 0  # passages whose embedding came from the cache
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    status: str = "done"
    # Documents that are gone from the folders but were kept: removing them would have taken
    # `removal_limit` of the index or more (an empty or unmounted folder), and it was not
    # confirmed (`allow_removal`).
    kept: int = 0
    indexed_before: int = 0

    @property
    def removal_refused(self) -> bool:
        return self.kept > 0

    def refusal(self) -> str:
        """Why the removal was refused, in one line."""
        return (f"{self.kept} of the {self.indexed_before} indexed documents are gone from "
                "KB_PATH (an empty or unmounted folder?); they stay indexed until an admin "
                "confirms with `python -m bot kb sync --allow-removal`")

    @property
    def changed(self) -> bool:
        return bool(self.indexed or self.removed)


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int
    path: str
    embedded: int


class Indexer:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        embedder: Embedder,
        roots: Sequence[Path],
        removal_limit: float = 1.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._embedder = embedder
        self._roots = [root.expanduser().resolve() for root in roots]
        self._lock = asyncio.Lock()
        # A sync that would remove this share of the indexed documents or more keeps them
        # (1.0: only one that would remove every document), unless `allow_removal`.
        self.removal_limit = removal_limit

    @property
    def running(self) -> bool:
        return self._lock.locked()

    async def sync(
        self, progress: Callable[[Progress], None] | None = None, *, allow_removal: bool = False
    ) -> SyncReport:
        """Bring the index in line with the folders. One sync at a time per process."""
        async with self._lock:
            # Files are read in bounded worker processes, started only if a file changed.
            # Its worker imports only the readers of the formats it is given to read: a
            # folder of Markdown never pays pypdf's import.
            reader = DocumentReader(cpu_seconds=KB_CPU_SECONDS, wall_seconds=KB_WALL_SECONDS,
                                    workers=1, look_seconds=0, preload=())
            try:
                return await self._sync(progress, allow_removal, reader)
            finally:
                await reader.aclose()

    async def _sync(
        self, progress: Callable[[Progress], None] | None, allow_removal: bool,
        reader: DocumentReader,
    ) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        async with self._sessionmaker() as session:
            repo = KnowledgeRepository(session)
            await repo.abandon_running()
            run_id = await repo.start_run()
            stored = {(d.root, d.path): d for d in await repo.documents()}
            await session.commit()
        try:
            found = await asyncio.to_thread(lambda: list(find_files(self._roots)))
            candidates = [item for item in found if isinstance(item, Candidate)]
            report.skipped.extend(item for item in found if isinstance(item, Skipped))
            report.files = len(candidates)
            report.indexed_before = len(stored)
            found_keys = {(c.root, c.path) for c in candidates}
            missing = sum(1 for key in stored if key not in found_keys)
            if (stored and missing and not allow_removal
                    and missing / len(stored) >= self.removal_limit):
                report.kept = missing
            seen: set[tuple[str, str]] = set()
            for number, candidate in enumerate(candidates, start=1):
                seen.add((candidate.root, candidate.path))
                await self._one(
                    candidate, stored.get((candidate.root, candidate.path)), report, reader
                )
                if progress is not None:
                    progress(Progress(number, len(candidates), candidate.path, report.embedded))
            gone = [key for key in stored if key not in seen]
            if gone and not report.removal_refused:
                async with self._sessionmaker() as session:
                    report.removed = await KnowledgeRepository(session).delete_documents_at(gone)
                    await session.commit()
            if report.changed:
                async with self._sessionmaker() as session:
                    await KnowledgeRepository(session).analyze()
                    await session.commit()
        except BaseException as exc:
            report.status = "interrupted" if isinstance(exc, asyncio.CancelledError) else "failed"
            await asyncio.shield(self._finish(run_id, report, started, repr(exc)))
            raise
        await self._finish(run_id, report, started, None)
        return report

    async def _finish(
        self, run_id: int, report: SyncReport, started: float, error: str | None
    ) -> None:
        report.seconds = time.monotonic() - started
        async with self._sessionmaker() as session:
            await KnowledgeRepository(session).finish_run(
                run_id, status=report.status, files=report.files, passages=report.passages,
                embedded=report.embedded, reused=report.reused, removed=report.removed,
                skipped=[[s.path, s.reason] for s in report.skipped], error=error,
            )
            await session.commit()

    async def _one(
        self, candidate: Candidate, stored: StoredDocument | None, report: SyncReport,
        reader: DocumentReader,
    ) -> None:
        model = self._embedder.doc_model
        try:
            data = await asyncio.to_thread(read_bytes, candidate)
            # Compared before parsing: an unchanged PDF is not read again.
            if stored is not None and stored.model == model and stored.content_hash == (
                content_digest(data, folder_access(candidate))
            ):
                report.unchanged += 1
                return
            extracted = await reader.read(candidate.path, data)
            document = document_of(candidate, data, extracted)
        except DocumentError as exc:
            log.warning("knowledge base: skipped %s: %s", candidate.path, exc)
            report.skipped.append(Skipped(candidate.path, str(exc)))
            return
        pieces = passages(document)
        try:
            await self._store(document, pieces, report)
        except FoundationModelsError as exc:
            log.warning("knowledge base: %s not indexed: embedding failed: %s",
                        candidate.path, exc)
            report.skipped.append(Skipped(candidate.path, f"embedding failed: {exc}"))
            return
        except IntegrityError:
            # Another process (`fmbot kb sync` beside the bot) stored the same file meanwhile.
            log.warning("knowledge base: %s was stored by another sync meanwhile", candidate.path)
            report.skipped.append(Skipped(candidate.path, "stored by another sync meanwhile"))
            return
        report.indexed += 1
        report.passages += len(pieces)

    async def _store(self, document: Document, pieces: list[Passage], report: SyncReport) -> None:
        model = self._embedder.doc_model
        hashes = [piece.content_hash(document.title) for piece in pieces]
        async with self._sessionmaker() as session:
            cached = await KnowledgeRepository(session).cached_embeddings(hashes, model)
            await session.commit()
        todo = {h: p for h, p in zip(hashes, pieces, strict=True) if h not in cached}
        report.reused += len(pieces) - sum(1 for h in hashes if h in todo)
        await self._embed_all(document.title, todo, report)
        rows = [
            NewPassage(p.ordinal, p.heading, p.text,
                       search_text(p.embedded_text(document.title)), h, p.title, p.url,
                       ",".join(g.replace(",", "") for g in document.access))
            for h, p in zip(hashes, pieces, strict=True)
        ]
        async with self._sessionmaker() as session:
            document_id = await KnowledgeRepository(session).replace_document(
                root=document.root, path=document.path, title=document.title, url=document.url,
                content_hash=document.digest, model=model, passages=rows,
            )
            # pgvector: the passages and their vectors become visible together.
            in_database = PgVectorRepository(session)
            if await in_database.enabled():
                await in_database.add_document(document_id, model)
            await session.commit()

    async def _embed_all(self, title: str, todo: dict[str, Passage], report: SyncReport) -> None:
        queue = list(todo.items())

        async def worker() -> None:
            while queue:
                digest, piece = queue.pop()
                vector = await self._embedder.document(piece.embedded_text(title))
                report.embedded += 1
                async with self._sessionmaker() as session:
                    await KnowledgeRepository(session).put_embedding(
                        digest, self._embedder.doc_model, vector.model_version,
                        vector.values.astype(np.float32).tobytes(),
                    )
                    await session.commit()

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(IN_FLIGHT, len(queue))):
                    group.create_task(worker())
        except* FoundationModelsError as failures:
            # The first failure names the file's problem; the other workers were cancelled.
            raise failures.exceptions[0] from None
