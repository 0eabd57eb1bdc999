"""Long voice notes: SpeechKit's asynchronous recognitions as durable jobs (stored before
they are submitted; a restart polls the same operation).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-25 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SURROGATE_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "speech_jobs",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.String(length=256), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("operation_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("status_message_id", sa.BigInteger(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speech_jobs")),
    )
    op.create_index("uq_speech_jobs_chat_message", "speech_jobs", ["chat_id", "message_id"],
                    unique=True)
    op.create_index(op.f("ix_speech_jobs_user_id"), "speech_jobs", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_speech_jobs_user_id"), table_name="speech_jobs")
    op.drop_index("uq_speech_jobs_chat_message", table_name="speech_jobs")
    op.drop_table("speech_jobs")
