"""Tool calls that someone else approves (issue 81): who decides ("group:NAME", "chat:ID"),
when they are reminded, the cards sent to them, and how the approver who decided was named.

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-29 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tool_calls") as batch:
        batch.add_column(sa.Column("approvers", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("approval_cards", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("decided_by_name", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tool_calls") as batch:
        batch.drop_column("decided_by_name")
        batch.drop_column("approval_cards")
        batch.drop_column("remind_at")
        batch.drop_column("approvers")
