"""pgvector on PostgreSQL, when the server has the extension: kb_passage_vectors, each indexed
passage's embedding as a normalised `vector`, searched exactly in the database.

Without the extension (SQLite, a PostgreSQL server without pgvector, or a role that may not
create it) this migration changes nothing and the bot searches the same vectors with numpy
in memory. One row per passage, not a column of the embedding cache: the search then scans
the indexed passages' vectors alone, with no join (a join with kb_passages per search cost
25-65 ms at 10,000 passages against 5-8 ms for the scan alone). The column has no fixed
dimension: a new embedding model may have another size, and exact search (no approximate
index) needs none; `dims` lets a search skip other sizes without reading each vector. Installed later: `alembic downgrade 0004`, then `python -m bot migrate`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 08:00:00
"""

from __future__ import annotations

import array
import logging
import math
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
BATCH = 500


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if bind.execute(sa.text(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
    )).first() is None:
        log.info("pgvector is not installed on this server: vectors are searched with numpy")
        return
    try:
        with bind.begin_nested():  # a refusal must not abort the migration's transaction
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    except sa.exc.DBAPIError as exc:  # not a superuser, and the extension is not trusted
        log.warning("pgvector not enabled (%s): vectors are searched with numpy",
                    str(exc.orig).splitlines()[0])
        return
    op.execute(
        "CREATE TABLE kb_passage_vectors ("
        "passage_id BIGINT PRIMARY KEY REFERENCES kb_passages (id) ON DELETE CASCADE, "
        "model VARCHAR(256) NOT NULL, dims INTEGER NOT NULL, embedding vector NOT NULL)"
    )
    rows = bind.execute(sa.text(
        "SELECT p.id, e.model, e.vector FROM kb_passages p "
        "JOIN kb_documents d ON d.id = p.document_id "
        "JOIN kb_embeddings e ON e.content_hash = p.content_hash AND e.model = d.model"
    ))
    insert = sa.text("INSERT INTO kb_passage_vectors (passage_id, model, dims, embedding) "
                     "VALUES (:passage_id, :model, :dims, CAST(:embedding AS vector))")
    for batch in iter(lambda: rows.fetchmany(BATCH), []):
        bind.execute(insert, [
            {"passage_id": passage_id, "model": model, "dims": len(vector) // 4,
             "embedding": _as_text(vector)}
            for passage_id, model, vector in batch
        ])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The extension stays: other databases' or schemas' objects may use it.
        op.execute("DROP TABLE IF EXISTS kb_passage_vectors")


def _as_text(vector: bytes) -> str:
    # As bot.features.knowledge.pgvector.as_pgvector (a migration must not change when
    # the code does): normalised, each float32's exact value, read back by strtof losslessly.
    values = array.array("f", vector)
    norm = math.sqrt(math.fsum(v * v for v in values)) or 1.0
    return "[" + ",".join(map(repr, array.array("f", (v / norm for v in values)))) + "]"
