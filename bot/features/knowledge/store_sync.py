"""KB_BACKEND=yandex: KB_PATH folders -> a Yandex Vector Store, incrementally.

A file whose bytes are unchanged since it was uploaded costs a `stat` and a hash; a changed one
is uploaded again, attached, and only then is its old copy detached and deleted (the store
never lacks the document meanwhile); a file gone from the folders is detached and deleted, under
the same removal guard as the local index. Which file is which (hash, Yandex's file id) is kept
in the database, so a second sync uploads nothing. Yandex parses, chunks and embeds the files.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.knowledge import access
from bot.features.knowledge.documents import (
    Candidate,
    DocumentError,
    Skipped,
    content_digest,
    find_files,
    folder_access,
    read_bytes,
)
from bot.features.knowledge.indexer import Progress, SyncReport
from bot.features.knowledge.store_records import KbStoreRepository, StoreRecord
from bot.plugin.models import (
    AuthenticationError,
    FoundationModelsError,
    NotFoundError,
    PermissionDeniedError,
    VectorStoreClient,
)
from bot.plugin.reading import markdown_access

log = logging.getLogger(__name__)
STORE_NAME = "fmbot knowledge base"


@dataclass(slots=True)
class StoreSyncReport(SyncReport):
    store_id: str = ""
    created: bool = False  # the store was created by this sync (KB_VECTOR_STORE_ID unset)


class StoreSync:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: VectorStoreClient,
        roots: Sequence[Path],
        store_id: str = "",
        store_days: int = 365,
        removal_limit: float = 1.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._client = client
        self._roots = [root.expanduser().resolve() for root in roots]
        self._configured = store_id
        self._days = store_days
        self.removal_limit = removal_limit
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._lock.locked()

    async def store_id(self) -> str:
        """KB_VECTOR_STORE_ID, else the store an earlier sync created ("" before any)."""
        if self._configured:
            return self._configured
        async with self._sessionmaker() as session:
            return await KbStoreRepository(session).last_store() or ""

    async def sync(
        self, progress: Callable[[Progress], None] | None = None, *, allow_removal: bool = False
    ) -> StoreSyncReport:
        async with self._lock:
            started = time.monotonic()
            report = StoreSyncReport()
            report.store_id = await self.store_id()
            if report.store_id:
                try:  # a wrong KB_VECTOR_STORE_ID or a missing role stops here, in one line
                    await self._client.get_store(report.store_id)
                except NotFoundError:
                    if self._configured:
                        raise
                    log.warning("knowledge base: the vector store %s is gone (expired?); "
                                "creating a new one", report.store_id)
                    report.store_id = ""
            if not report.store_id:
                store = await self._client.create_store(STORE_NAME, days=self._days)
                report.store_id, report.created = store.id, True
                log.info("knowledge base: created the vector store %s", store.id)
            await self._sync(report, progress, allow_removal)
            report.seconds = time.monotonic() - started
            return report

    async def _sync(self, report: StoreSyncReport, progress: Callable[[Progress], None] | None,
                    allow_removal: bool) -> None:
        async with self._sessionmaker() as session:
            stored = {(r.root, r.path): r
                      for r in await KbStoreRepository(session).records(report.store_id)}
        found = await asyncio.to_thread(lambda: list(find_files(self._roots)))
        candidates = [item for item in found if isinstance(item, Candidate)]
        report.skipped.extend(item for item in found if isinstance(item, Skipped))
        report.files, report.indexed_before = len(candidates), len(stored)
        keys = {(c.root, c.path) for c in candidates}
        gone = [record for key, record in stored.items() if key not in keys]
        if (gone and not allow_removal
                and len(gone) / len(stored) >= self.removal_limit):
            report.kept = len(gone)
        for number, candidate in enumerate(candidates, start=1):
            await self._one(report, candidate, stored.get((candidate.root, candidate.path)))
            if progress is not None:
                progress(Progress(number, len(candidates), candidate.path, 0))
        if report.removal_refused:
            return
        for record in gone:
            try:
                await self._drop(report.store_id, record)
            except FoundationModelsError as exc:
                log.warning("knowledge base: %s not removed from the vector store: %s",
                            record.path, exc)
                report.skipped.append(Skipped(record.path, f"removal failed: {exc}"))
                continue
            async with self._sessionmaker() as session:
                await KbStoreRepository(session).remove(report.store_id, record.root,
                                                        record.path)
                await session.commit()
            report.removed += 1

    async def _one(self, report: StoreSyncReport, candidate: Candidate,
                   record: StoreRecord | None) -> None:
        try:
            data = await asyncio.to_thread(read_bytes, candidate)
        except DocumentError as exc:
            report.skipped.append(Skipped(candidate.path, str(exc)))
            return
        folder = folder_access(candidate)
        groups = markdown_access(candidate.path, data) or folder
        digest = content_digest(data, folder)  # a changed `.access` uploads it again
        if record is not None and record.content_hash == digest and record.access is not None:
            report.unchanged += 1
            return
        value = access.attribute(groups)
        if len(value) > access.ATTRIBUTE_LIMIT:
            report.skipped.append(Skipped(candidate.path, (
                f"its access groups take {len(value)} characters; a Vector Store attribute "
                f"holds {access.ATTRIBUTE_LIMIT}")))
            return
        try:
            file_id = await self._client.upload(PurePosixPath(candidate.path).name, data)
            # Who may read it travels with the file: file search filters on it (access.py).
            status = await self._client.attach(
                report.store_id, file_id,
                {"path": candidate.path, access.ACCESS_ATTRIBUTE: value})
            if status in ("failed", "cancelled"):
                await self._client.delete_file(file_id)
                raise FoundationModelsError(f"Yandex could not index it ({status})")
        except (AuthenticationError, PermissionDeniedError):
            raise  # every other file would fail the same way
        except FoundationModelsError as exc:
            log.warning("knowledge base: %s not uploaded: %s", candidate.path, exc)
            report.skipped.append(Skipped(candidate.path, f"upload failed: {exc}"))
            return
        async with self._sessionmaker() as session:
            await KbStoreRepository(session).put(
                report.store_id,
                StoreRecord(candidate.root, candidate.path, digest, file_id, groups))
            await session.commit()
        report.indexed += 1
        if record is not None:  # the new copy is in: the old one goes
            try:
                await self._drop(report.store_id, record)
            except FoundationModelsError as exc:
                log.warning("knowledge base: the old copy of %s (%s) stays in the store: %s",
                            candidate.path, record.file_id, exc)

    async def _drop(self, store_id: str, record: StoreRecord) -> None:
        await self._client.detach(store_id, record.file_id)
        await self._client.delete_file(record.file_id)
