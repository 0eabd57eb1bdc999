"""The support desk's cases by opening time: `fmbot report` and the console's live figures
read a period's cases, which scanned the whole table without it.

Revision ID: desk_0002 (was 0035 in fmbot's shared history)
Revises: desk_0001
Create Date: 2026-11-29 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "desk_0002"
down_revision: str | None = "desk_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_desk_cases_opened_at", "desk_cases", ["opened_at"])


def downgrade() -> None:
    op.drop_index("ix_desk_cases_opened_at", table_name="desk_cases")
