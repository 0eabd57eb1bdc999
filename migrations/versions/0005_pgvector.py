"""pgvector on PostgreSQL, when the server has the extension: kb_embeddings.embedding, a copy
of each stored embedding as `vector`, searched exactly in the database instead of in memory.

Without the extension (SQLite, or a PostgreSQL server without pgvector, or a role that may
not create it) this migration changes nothing and the bot searches the same vectors with
numpy. The column has no fixed dimension: a new embedding model may have another size, and
exact search (no ANN index) needs none. Installed later: `alembic downgrade 0004` then
`python -m bot migrate` runs this again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 08:00:00
"""

from __future__ import annotations

import array
import logging
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
    except sa.exc.DBAPIError as exc:  # not a superuser, and the extension not trusted
        log.warning("pgvector not enabled (%s): vectors are searched with numpy",
                    str(exc.orig).splitlines()[0])
        return
    op.execute("ALTER TABLE kb_embeddings ADD COLUMN embedding vector")
    # Kept in the row (1 kB at 256 dimensions), so the exact search's scan never reads TOAST;
    # the bytea copy is moved out of line instead when a row is too large.
    op.execute("ALTER TABLE kb_embeddings ALTER COLUMN embedding SET STORAGE MAIN")
    rows = bind.execute(sa.text("SELECT content_hash, model, vector FROM kb_embeddings"))
    update = sa.text(
        "UPDATE kb_embeddings SET embedding = CAST(:embedding AS vector) "
        "WHERE content_hash = :content_hash AND model = :model"
    )
    for batch in iter(lambda: rows.fetchmany(BATCH), []):
        bind.execute(update, [
            {"content_hash": digest, "model": model, "embedding": _as_text(vector)}
            for digest, model, vector in batch
        ])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The extension stays: other databases' or schemas' objects may use it.
        op.execute("ALTER TABLE kb_embeddings DROP COLUMN IF EXISTS embedding")


def _as_text(vector: bytes) -> str:
    # The same as bot.storage.repositories.kb_vectors.as_pgvector (a migration must not change
    # when the code does). float32 -> repr of the exact double -> pgvector's strtof: lossless.
    return "[" + ",".join(map(repr, array.array("f", vector))) + "]"
