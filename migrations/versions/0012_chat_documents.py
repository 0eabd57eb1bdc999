"""Documents users send in chat (PDF, DOCX, text), kept as passages for their conversation.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 20:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
# After 0011 (photos, merged into this branch); the coordinator re-chains at merge.
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_documents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("author_user_id", sa.BigInteger(), nullable=True),
        sa.Column("file_name", sa.String(length=256), nullable=False),
        sa.Column("file_unique_id", sa.String(length=128), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("passages", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"],
            name=op.f("fk_chat_documents_conversation_id_conversations"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_documents")),
    )
    op.create_index(
        op.f("ix_chat_documents_conversation_id"), "chat_documents", ["conversation_id"]
    )
    op.create_index(
        op.f("ix_chat_documents_author_user_id"), "chat_documents", ["author_user_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_documents_author_user_id"), table_name="chat_documents")
    op.drop_index(op.f("ix_chat_documents_conversation_id"), table_name="chat_documents")
    op.drop_table("chat_documents")
