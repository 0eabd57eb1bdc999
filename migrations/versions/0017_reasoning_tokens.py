"""Reasoning tokens per user per day (REASONING=on): counted inside `tokens`, shown apart.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("daily_usage") as batch:
        batch.add_column(sa.Column("reasoning_tokens", sa.BigInteger(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("daily_usage") as batch:
        batch.drop_column("reasoning_tokens")
