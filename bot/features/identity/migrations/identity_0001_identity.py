"""The employee sign-in (issue 81): the sign-ins under way and each Telegram user's binding
to the employee the company's OpenID Connect provider vouched for.

Revision ID: identity_0001 (was 0030 in fmbot's shared history)
Revises: 0027 (the branch starts from fmbot's shared history)
Create Date: 2026-11-29 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "identity_0001"
down_revision: str | None = "0027"  # the branch starts from fmbot's shared history
branch_labels: str | Sequence[str] | None = ("identity",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_flows",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("verifier", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_identity_flows")),
    )
    op.create_index(op.f("ix_identity_flows_user_id"), "identity_flows", ["user_id"])
    op.create_table(
        "identity_bindings",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("groups", sa.Text(), nullable=False),
        sa.Column("signed_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_identity_bindings")),
    )


def downgrade() -> None:
    op.drop_table("identity_bindings")
    op.drop_index(op.f("ix_identity_flows_user_id"), table_name="identity_flows")
    op.drop_table("identity_flows")
