"""The console's eval cases being drafted (issue 80): one row per press of "make an eval
case", drafted in the background under a lease stored in the row; at most one unfinished per
conversation; erased with the conversation.

Revision ID: console_0002 (was 0033 in fmbot's shared history)
Revises: console_0001
Create Date: 2026-11-29 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "console_0002"
down_revision: str | None = "console_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFINISHED = sa.text("status IN ('pending', 'running')")


def upgrade() -> None:
    op.create_table(
        "console_case_drafts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("identity", sa.String(length=320), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("to_file", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("operation_id", sa.String(length=128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("case_text", sa.Text(), nullable=False),
        sa.Column("written", sa.String(length=1000), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"],
            name=op.f("fk_console_case_drafts_conversation_id_conversations"),
            ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_case_drafts")),
    )
    op.create_index(op.f("ix_console_case_drafts_conversation_id"), "console_case_drafts",
                    ["conversation_id"])
    op.create_index("ix_console_case_drafts_status", "console_case_drafts", ["status"])
    op.create_index("uq_console_case_drafts_unfinished", "console_case_drafts",
                    ["conversation_id"], unique=True, sqlite_where=UNFINISHED,
                    postgresql_where=UNFINISHED)


def downgrade() -> None:
    op.drop_index("uq_console_case_drafts_unfinished", table_name="console_case_drafts")
    op.drop_index("ix_console_case_drafts_status", table_name="console_case_drafts")
    op.drop_index(op.f("ix_console_case_drafts_conversation_id"),
                  table_name="console_case_drafts")
    op.drop_table("console_case_drafts")
