"""Operators' internal notes in the support chat's topics, kept with their case, for the
console's transcript.

Revision ID: desk_0001 (was 0029 in fmbot's shared history)
Revises: 0027 (the branch starts from fmbot's shared history)
Create Date: 2026-11-29 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "desk_0001"
down_revision: str | None = "0027"  # the branch starts from fmbot's shared history
branch_labels: str | Sequence[str] | None = ("desk",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_notes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.String(length=256), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["desk_cases.id"],
                                name=op.f("fk_desk_notes_case_id_desk_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_notes")),
    )
    op.create_index(op.f("ix_desk_notes_case_id"), "desk_notes", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_desk_notes_case_id"), table_name="desk_notes")
    op.drop_table("desk_notes")
