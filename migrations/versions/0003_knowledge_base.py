"""Knowledge base: documents, passages, embedding cache, sync runs, answers' sources; the
full-text index (SQLite FTS5 over stemmed text, PostgreSQL GIN over its tsvector).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SURROGATE_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# External-content FTS5 table over kb_passages.search_text, kept in step by triggers
# (https://www.sqlite.org/fts5.html#external_content_tables). The text is stemmed in Python
# (FTS5 has no Russian stemmer), so the tokenizer only splits and folds case.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE kb_passages_fts USING fts5(search_text, content='kb_passages', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER kb_passages_ai AFTER INSERT ON kb_passages BEGIN "
    "INSERT INTO kb_passages_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER kb_passages_ad AFTER DELETE ON kb_passages BEGIN "
    "INSERT INTO kb_passages_fts(kb_passages_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER kb_passages_au AFTER UPDATE ON kb_passages BEGIN "
    "INSERT INTO kb_passages_fts(kb_passages_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO kb_passages_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
# 'simple': the words are stemmed already, by the same Snowball stemmers as on SQLite. The
# tsvector is stored (a generated column), so ranking reads it instead of parsing each text.
# STORAGE MAIN keeps it in the row (the texts go to TOAST instead): a passage's tsvector of
# ~2 kB was otherwise moved out of line, and ranking each match read it back from TOAST
# (an index lookup and two chunks): about 3x the time of reading it in place.
# https://www.postgresql.org/docs/15/storage-toast.html
POSTGRES_FTS = [
    "ALTER TABLE kb_passages ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
    "ALTER TABLE kb_passages ALTER COLUMN search_vector SET STORAGE MAIN",
    "CREATE INDEX ix_kb_passages_search ON kb_passages USING gin (search_vector)",
]


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "kb_documents",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("root", sa.String(length=1024), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("passage_count", sa.Integer(), nullable=False),
        _ts("synced_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_documents")),
    )
    op.create_index("ux_kb_documents_root_path", "kb_documents", ["root", "path"], unique=True)
    op.create_table(
        "kb_passages",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("document_id", sa.BigInteger(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["kb_documents.id"], ondelete="CASCADE",
            name=op.f("fk_kb_passages_document_id_kb_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_passages")),
    )
    op.create_index(op.f("ix_kb_passages_document_id"), "kb_passages", ["document_id"])
    op.create_index(op.f("ix_kb_passages_content_hash"), "kb_passages", ["content_hash"])
    op.create_table(
        "kb_embeddings",
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("content_hash", "model", name=op.f("pk_kb_embeddings")),
    )
    op.create_table(
        "kb_sync_runs",
        sa.Column("id", SURROGATE_PK, nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("passages", sa.Integer(), nullable=False),
        sa.Column("embedded", sa.Integer(), nullable=False),
        sa.Column("reused", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_sync_runs")),
    )
    op.create_table(
        "kb_answers",
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], ondelete="CASCADE",
            name=op.f("fk_kb_answers_message_id_messages"),
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_kb_answers")),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        for statement in POSTGRES_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("kb_passages_au", "kb_passages_ad", "kb_passages_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS kb_passages_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_kb_passages_search")
    for table in ("kb_answers", "kb_sync_runs", "kb_embeddings", "kb_passages", "kb_documents"):
        op.drop_table(table)
