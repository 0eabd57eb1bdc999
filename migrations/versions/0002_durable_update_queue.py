"""Durable update queue: an accepted message waits in processed_updates until its effect is stored.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "payload IS NOT NULL"


def upgrade() -> None:
    # Plain ADD COLUMN on both backends (nullable, no default): no table rebuild on SQLite.
    op.add_column("processed_updates", sa.Column("chat_id", sa.BigInteger(), nullable=True))
    op.add_column("processed_updates", sa.Column("payload", sa.Text(), nullable=True))
    op.create_index(
        "ix_processed_updates_pending",
        "processed_updates",
        ["bot_id", "update_id"],
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_processed_updates_pending", table_name="processed_updates")
    with op.batch_alter_table("processed_updates") as batch:
        batch.drop_column("payload")
        batch.drop_column("chat_id")
