"""Voice replies: the spoken form of an answer (its Telegram file ids), each user's
/voice choice, and the characters synthesised per user per day.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-25 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SURROGATE_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "voice_replies",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("answer_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("reply_to", sa.BigInteger(), nullable=True),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("file_ids", sa.JSON(), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["answer_id"], ["messages.id"], ondelete="CASCADE",
                                name=op.f("fk_voice_replies_answer_id_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_replies")),
        sa.UniqueConstraint("answer_id", name=op.f("uq_voice_replies_answer_id")),
    )
    op.create_index("ix_voice_replies_status", "voice_replies", ["status"])
    op.create_index(op.f("ix_voice_replies_user_id"), "voice_replies", ["user_id"])
    op.create_table(
        "voice_preferences",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_voice_preferences")),
    )
    op.create_table(
        "voice_usage",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_voice_usage")),
    )


def downgrade() -> None:
    op.drop_table("voice_usage")
    op.drop_table("voice_preferences")
    op.drop_index(op.f("ix_voice_replies_user_id"), table_name="voice_replies")
    op.drop_index("ix_voice_replies_status", table_name="voice_replies")
    op.drop_table("voice_replies")
