"""Who may read a knowledge-base passage (issue 81): the groups its document names (front
matter `access:` or a folder's `.access` file), comma-joined; "" for every admitted user.

Revision ID: knowledge_0001 (was 0031 in fmbot's shared history)
Revises: 0027 (the branch starts from fmbot's shared history)
Create Date: 2026-11-29 02:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "knowledge_0001"
down_revision: str | None = "0027"  # the branch starts from fmbot's shared history
branch_labels: str | Sequence[str] | None = ("knowledge",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_passages") as batch:
        batch.add_column(sa.Column("access", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("kb_passages") as batch:
        batch.drop_column("access")
