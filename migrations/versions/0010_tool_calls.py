"""Tool calls (issue 24): each call the model asks for, stored before it runs.

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-24 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tool_calls",
        sa.Column("id", BIGINT_PK, primary_key=True),
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("answer_id", sa.BigInteger(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("preface", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("writes", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("result_digest", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("confirm_message_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"], ["messages.id"],
            name="fk_tool_calls_question_id_messages", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["messages.id"],
            name="fk_tool_calls_answer_id_messages", ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tool_calls"),
    )
    op.create_index(
        "ix_tool_calls_question_id_round", "tool_calls", ["question_id", "round", "position"]
    )
    op.create_index("ix_tool_calls_answer_id", "tool_calls", ["answer_id"])
    op.create_index("ix_tool_calls_chat_id_id", "tool_calls", ["chat_id", "id"])
    op.create_index("ix_tool_calls_state", "tool_calls", ["state"])
    op.create_index("ix_tool_calls_created_at", "tool_calls", ["created_at"])
    op.create_index("ix_tool_calls_user_id", "tool_calls", ["user_id"])
    op.create_index(
        "uq_tool_calls_idempotency_key", "tool_calls", ["idempotency_key"], unique=True
    )


def downgrade() -> None:
    op.drop_table("tool_calls")
