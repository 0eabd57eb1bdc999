"""Which KB_PATH files are in a Yandex Vector Store: their hash and Yandex's file id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.knowledge.models import KbStoreFile
from bot.plugin.storage import utcnow


@dataclass(frozen=True, slots=True)
class StoreRecord:
    root: str
    path: str
    content_hash: str
    file_id: str
    access: tuple[str, ...] | None = None
    """The groups that may read it (empty: everyone); None: uploaded before access was kept."""


class KbStoreRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def records(self, store_id: str) -> list[StoreRecord]:
        rows = await self.session.scalars(
            select(KbStoreFile).where(KbStoreFile.store_id == store_id))
        return [StoreRecord(r.root, r.path, r.content_hash, r.file_id, _groups(r.access))
                for r in rows]

    async def last_store(self) -> str | None:
        """The store the last sync wrote to (the one it created when KB_VECTOR_STORE_ID was
        unset), or None."""
        return await self.session.scalar(
            select(KbStoreFile.store_id).order_by(KbStoreFile.synced_at.desc()).limit(1))

    async def put(self, store_id: str, record: StoreRecord) -> None:
        row = await self.session.scalar(select(KbStoreFile).where(
            KbStoreFile.store_id == store_id, KbStoreFile.root == record.root,
            KbStoreFile.path == record.path))
        access = None if record.access is None else ",".join(record.access)
        if row is None:
            self.session.add(KbStoreFile(store_id=store_id, root=record.root, path=record.path,
                                         content_hash=record.content_hash,
                                         file_id=record.file_id, access=access))
            return
        row.content_hash, row.file_id, row.access, row.synced_at = (
            record.content_hash, record.file_id, access, utcnow())

    async def remove(self, store_id: str, root: str, path: str) -> None:
        await self.session.execute(delete(KbStoreFile).where(
            KbStoreFile.store_id == store_id, KbStoreFile.root == root,
            KbStoreFile.path == path))

    async def access_sets(self, store_id: str) -> set[tuple[str, ...]]:
        """The distinct group sets the store's restricted files name (none: all are open)."""
        rows = await self.session.scalars(select(KbStoreFile.access).where(
            KbStoreFile.store_id == store_id, KbStoreFile.access != "").distinct())
        return {_groups(value) or () for value in rows if value}

    async def paths(self, store_id: str) -> dict[str, str]:
        """file id -> path, for naming a cited file."""
        rows = await self.session.execute(select(KbStoreFile.file_id, KbStoreFile.path).where(
            KbStoreFile.store_id == store_id))
        return {file_id: path for file_id, path in rows}


def _groups(access: str | None) -> tuple[str, ...] | None:
    return None if access is None else tuple(g for g in access.split(",") if g)
