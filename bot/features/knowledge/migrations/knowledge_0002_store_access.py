"""Who may read a file of the knowledge base's Yandex Vector Store (issue 81): the groups its
document names, comma-joined; "" for every admitted user; NULL for a file uploaded before
access was recorded (the next sync uploads it again, with its access attribute).

Revision ID: knowledge_0002 (was 0032 in fmbot's shared history)
Revises: knowledge_0001
Create Date: 2026-11-29 04:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "knowledge_0002"
down_revision: str | None = "knowledge_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_store_files") as batch:
        batch.add_column(sa.Column("access", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kb_store_files") as batch:
        batch.drop_column("access")
