"""Chat automation: connected business accounts, their customers' chats and the answers
waiting for the owner's press.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-26 17:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SURROGATE_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column[sa.DateTime]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "business_connections",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("owner_user_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_name", sa.String(256), nullable=False),
        sa.Column("owner_language", sa.String(16), nullable=False),
        sa.Column("user_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("can_reply", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_connections")),
    )
    op.create_index(op.f("ix_business_connections_owner_user_id"), "business_connections",
                    ["owner_user_id"])
    op.create_table(
        "business_chats",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("connection_id", sa.String(128), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_name", sa.String(256), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("owner_wrote_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(["connection_id"], ["business_connections.id"],
                                name=op.f("fk_business_chats_connection_id_business_connections"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_chats")),
    )
    op.create_index("uq_business_chats_connection_chat", "business_chats",
                    ["connection_id", "chat_id"], unique=True)
    op.create_table(
        "business_suggestions",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("answer_id", sa.BigInteger(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("card_message_id", sa.BigInteger(), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(["chat_id"], ["business_chats.id"],
                                name=op.f("fk_business_suggestions_chat_id_business_chats"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["answer_id"], ["messages.id"],
                                name=op.f("fk_business_suggestions_answer_id_messages"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_suggestions")),
    )
    op.create_index("ix_business_suggestions_status", "business_suggestions", ["status"])
    op.create_index(op.f("ix_business_suggestions_chat_id"), "business_suggestions",
                    ["chat_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_business_suggestions_chat_id"), table_name="business_suggestions")
    op.drop_index("ix_business_suggestions_status", table_name="business_suggestions")
    op.drop_table("business_suggestions")
    op.drop_index("uq_business_chats_connection_chat", table_name="business_chats")
    op.drop_table("business_chats")
    op.drop_index(op.f("ix_business_connections_owner_user_id"),
                  table_name="business_connections")
    op.drop_table("business_connections")
