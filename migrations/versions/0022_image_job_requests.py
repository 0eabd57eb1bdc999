"""Image jobs count the requests sent to the synchronous Images API (Alice AI ART), so a
restart mid-request asks again at most once.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-26 12:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("image_jobs") as batch:
        batch.add_column(sa.Column("requests", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("image_jobs") as batch:
        batch.drop_column("requests")
