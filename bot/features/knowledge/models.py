"""The knowledge base's tables: documents, passages, embeddings, sync runs, answers, and the
files of KB_PATH uploaded to a Yandex Vector Store (loaded for the schema by
bot/features/installed.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import Base, BigIntegerPK, utcnow

# Documents from KB_PATH, their passages, the embedding cache and sync runs. The lexical index
# is not mapped: on SQLite an FTS5 table `kb_passages_fts` (external content, kept in step by
# triggers) over `kb_passages.search_text`; on PostgreSQL a stored generated tsvector column
# `search_vector` with a GIN index.
# Both are created by migration 0003 and named in UNMAPPED_SCHEMA_NAMES.

UNMAPPED_SCHEMA_NAMES = frozenset({
    "kb_passages_fts", "kb_passages_fts_data", "kb_passages_fts_idx", "kb_passages_fts_docsize",
    "kb_passages_fts_config", "kb_passages_fts_content", "ix_kb_passages_search",
    "search_vector",
})


class KbDocument(Base):
    """One file under a KB_PATH folder (`path` is relative to that folder, `root`)."""

    __tablename__ = "kb_documents"
    __table_args__ = (Index("ux_kb_documents_root_path", "root", "path", unique=True),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    root: Mapped[str] = mapped_column(String(1024))
    path: Mapped[str] = mapped_column(String(1024))
    title: Mapped[str] = mapped_column(String(512), default="")
    url: Mapped[str | None] = mapped_column(String(2048))
    # sha256 of the file's bytes and the embedding model its passages were embedded with: a
    # file is re-indexed when either differs.
    content_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256))
    passage_count: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class KbPassage(Base):
    __tablename__ = "kb_passages"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text, default="")  # "Returns > Refund times"
    text: Mapped[str] = mapped_column(Text)
    # Stemmed words (Russian and English Snowball) that the full-text index sees.
    search_text: Mapped[str] = mapped_column(Text)
    # sha256 of what was embedded (title, heading and text): the embedding cache key.
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # A FAQ pair's own title (its question) and link; NULL: the document's (migration 0009).
    title: Mapped[str | None] = mapped_column(String(512))
    url: Mapped[str | None] = mapped_column(String(2048))
    # The groups that may read it, comma-joined and sorted ("hr,managers"); "": everyone
    # admitted (issue 81). Searches leave out what the asker may not read before ranking.
    access: Mapped[str] = mapped_column(Text, server_default="")


class KbEmbedding(Base):
    """Embedding cache: one vector per embedded text and model, reused across syncs."""

    __tablename__ = "kb_embeddings"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(256), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64), default="")
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class KbSyncRun(Base):
    __tablename__ = "kb_sync_runs"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(32), default="running")  # done | failed
    files: Mapped[int] = mapped_column(Integer, default=0)
    passages: Mapped[int] = mapped_column(Integer, default=0)
    embedded: Mapped[int] = mapped_column(Integer, default=0)
    reused: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    # [[path, reason], ...] for files skipped or failed in this run.
    skipped: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)


class KbAnswer(Base):
    """How the knowledge base took part in an answer (one row per grounded or abstained turn)."""

    __tablename__ = "kb_answers"

    message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False,
    )
    # False: the knowledge base did not cover the question (abstention or not-found marker).
    covered: Mapped[bool] = mapped_column(Boolean)
    # [{"n", "path", "title", "url", "score", "cited"}, ...]: the sources given to the model.
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    query: Mapped[str] = mapped_column(Text, default="")  # the (rewritten) search query


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
    # The groups that may read it, comma-joined ("": every admitted user), as its
    # `fmbot_access` attribute says to file search; None: uploaded before access was kept.
    access: Mapped[str | None] = mapped_column(Text, default=None)
