"""Images user messages carried (photos, screenshots, albums), stored by Telegram file id;
daily usage counts photos and seconds of recognised speech.

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-24 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_images",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(length=256), nullable=False),
        sa.Column("file_unique_id", sa.String(length=128), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"],
            name=op.f("fk_message_images_message_id_messages"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_images")),
    )
    op.create_index(
        op.f("ix_message_images_message_id"), "message_images", ["message_id"], unique=False
    )
    # Plain ADD COLUMN with a constant default: no table rebuild on SQLite or PostgreSQL.
    for column in ("photos", "speech_seconds"):
        op.add_column(
            "daily_usage", sa.Column(column, sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("daily_usage") as batch:
        batch.drop_column("speech_seconds")
        batch.drop_column("photos")
    op.drop_index(op.f("ix_message_images_message_id"), table_name="message_images")
    op.drop_table("message_images")
