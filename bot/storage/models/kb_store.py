"""The files of KB_PATH uploaded to a Yandex Vector Store (KB_BACKEND=yandex): written by the
knowledge base's sync, read by file search (the hosted tools), so kept in the core storage."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, BigIntegerPK, utcnow


class KbStoreFile(Base):
    """A KB_PATH file uploaded to a Yandex Vector Store (KB_BACKEND=yandex): its hash, to skip
    it when unchanged, and the file id Yandex gave it, to replace or delete it."""

    __tablename__ = "kb_store_files"
    __table_args__ = (
        Index("ux_kb_store_files_store_root_path", "store_id", "root", "path", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    store_id: Mapped[str] = mapped_column(String(128))
    root: Mapped[str] = mapped_column(String(1024))
    path: Mapped[str] = mapped_column(String(1024))
    content_hash: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[str] = mapped_column(String(128))
    synced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
