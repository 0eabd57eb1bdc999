"""The features' daily counters leave daily_usage: pictures drawn (images), photos seen
(vision), seconds of voice recognised (voice) and web searches (websearch) become rows of
daily_counts (user, day, kind, amount), a counter the core keeps and names no feature in.
daily_usage keeps the answers' tokens and reasoning tokens.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-28 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# daily_usage's columns that become kinds of daily_counts (each kind named as its column).
COUNTERS = ("images", "photos", "speech_seconds", "web_searches")


def upgrade() -> None:
    op.create_table(
        "daily_counts",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "day", "kind", name=op.f("pk_daily_counts")),
    )
    op.create_index("ix_daily_counts_kind_day", "daily_counts", ["kind", "day"])
    for column in COUNTERS:
        # The column's name is one of COUNTERS (never input): it names the kind as well.
        op.execute(
            f"INSERT INTO daily_counts (user_id, day, kind, amount) "  # noqa: S608
            f"SELECT user_id, day, '{column}', {column} FROM daily_usage WHERE {column} <> 0"
        )
    with op.batch_alter_table("daily_usage") as batch:
        for column in COUNTERS:
            batch.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("daily_usage") as batch:
        for column in COUNTERS:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
    kinds = ", ".join(f"'{column}'" for column in COUNTERS)
    # A day counted only in daily_counts (a photo, no answer yet) gets its daily_usage row.
    op.execute(
        "INSERT INTO daily_usage (user_id, day, tokens, reasoning_tokens) "  # noqa: S608
        "SELECT DISTINCT c.user_id, c.day, 0, 0 FROM daily_counts c "
        f"WHERE c.kind IN ({kinds}) AND NOT EXISTS (SELECT 1 FROM daily_usage u "
        "WHERE u.user_id = c.user_id AND u.day = c.day)"
    )
    for column in COUNTERS:
        op.execute(
            f"UPDATE daily_usage SET {column} = (SELECT c.amount FROM daily_counts c "  # noqa: S608
            "WHERE c.user_id = daily_usage.user_id AND c.day = daily_usage.day "
            f"AND c.kind = '{column}') WHERE EXISTS (SELECT 1 FROM daily_counts c "
            "WHERE c.user_id = daily_usage.user_id AND c.day = daily_usage.day "
            f"AND c.kind = '{column}')"
        )
    op.drop_index("ix_daily_counts_kind_day", table_name="daily_counts")
    op.drop_table("daily_counts")
