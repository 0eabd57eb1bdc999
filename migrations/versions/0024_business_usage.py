"""Chat automation: tokens spent today for each connected account's customers, as a whole
(BUSINESS_DAILY_TOKEN_LIMIT); each customer's username and the start of their last message,
so /business tells two customers of one name apart.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-27 15:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("business_connections") as batch:
        batch.add_column(sa.Column("usage_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("usage_tokens", sa.BigInteger(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("business_chats") as batch:
        batch.add_column(sa.Column("customer_username", sa.String(64), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("last_said", sa.String(64), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("business_chats") as batch:
        batch.drop_column("last_said")
        batch.drop_column("customer_username")
    with op.batch_alter_table("business_connections") as batch:
        batch.drop_column("usage_tokens")
        batch.drop_column("usage_day")
