"""Answers' traces: one row per answer with why it is what it is (the passages found, the
tools called, the model, tokens and times, the rules that fired), bounded JSON, erased with
its answer; and an index of the messages by the time they were written.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-29 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answer_traces",
        sa.Column("answer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["messages.id"], name=op.f("fk_answer_traces_answer_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("answer_id", name=op.f("pk_answer_traces")),
    )
    op.create_index("ix_answer_traces_created_at", "answer_traces", ["created_at"])
    # "\n" in a Python string is the line break the tags are separated by, inside the SQL
    # literal (as the model's NOT_FOUND_TAGGED writes it).
    not_found = sa.text("tags LIKE '%\nnotfound\n%'")
    op.create_index("ix_answer_traces_not_found", "answer_traces", ["created_at"],
                    sqlite_where=not_found, postgresql_where=not_found)
    # A day's messages by conversation (the console's list; retention's cutoff) read from
    # the index alone.
    op.create_index("ix_messages_created_at_conversation_id", "messages",
                    ["created_at", "conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_created_at_conversation_id", table_name="messages")
    op.drop_table("answer_traces")
