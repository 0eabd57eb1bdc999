"""Files uploaded to a Yandex Vector Store (KB_BACKEND=yandex: hash and file id per KB_PATH
file), and the web searches counted per user per day (WEB_SEARCHES_PER_USER_DAY).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-25 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SURROGATE_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kb_store_files",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("store_id", sa.String(length=128), nullable=False),
        sa.Column("root", sa.String(length=1024), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("file_id", sa.String(length=128), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_store_files")),
    )
    op.create_index("ux_kb_store_files_store_root_path", "kb_store_files",
                    ["store_id", "root", "path"], unique=True)
    # Plain ADD COLUMN with a constant default: no table rebuild on SQLite or PostgreSQL.
    op.add_column("daily_usage",
                  sa.Column("web_searches", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("daily_usage") as batch:
        batch.drop_column("web_searches")
    op.drop_index("ux_kb_store_files_store_root_path", table_name="kb_store_files")
    op.drop_table("kb_store_files")
