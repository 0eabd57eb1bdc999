"""Every finished support conversation scored (issue 66): the quality scorer's verdict
(resolved, answered from the knowledge base, tone, a policy breach with its evidence line),
or "unscored" when its answer did not parse. Goes with its case (ON DELETE CASCADE).

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-27 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_scores",
        sa.Column("case_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.Column("from_knowledge_base", sa.Boolean(), nullable=True),
        sa.Column("tone", sa.String(length=16), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("breach", sa.Text(), nullable=True),
        sa.Column("evidence_line", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["desk_cases.id"], name=op.f("fk_desk_scores_case_id_desk_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_desk_scores")),
    )


def downgrade() -> None:
    op.drop_table("desk_scores")
