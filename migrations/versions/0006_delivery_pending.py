"""Answers stored but not yet delivered (several replicas): messages.delivery_pending.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 08:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): no table rebuild on SQLite, no rewrite on
    # PostgreSQL.
    op.add_column("messages", sa.Column("delivery_pending", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("delivery_pending")
