"""Tool calls that someone else approves (issue 81): who decides ("group:NAME", "chat:ID"),
when they are reminded, the cards sent to them, and how the approver who decided was named.

Revision ID: tools_0001 (was 0034 in fmbot's shared history)
Revises: 0027 (the branch starts from fmbot's shared history)
Create Date: 2026-11-29 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tools_0001"
down_revision: str | None = "0027"  # the branch starts from fmbot's shared history
branch_labels: str | Sequence[str] | None = ("tools",)
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
