"""Questions asked by voice, so an answer given again (/retry, a restart) is spoken too.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-25 08:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SURROGATE_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "spoken_questions",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spoken_questions")),
    )
    op.create_index("uq_spoken_questions_chat_message", "spoken_questions",
                    ["chat_id", "message_id"], unique=True)
    op.create_index(op.f("ix_spoken_questions_user_id"), "spoken_questions", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_spoken_questions_user_id"), table_name="spoken_questions")
    op.drop_index("uq_spoken_questions_chat_message", table_name="spoken_questions")
    op.drop_table("spoken_questions")
