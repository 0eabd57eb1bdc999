"""A partial index on the answers not finished (`streaming`, or stored and not delivered):
every replica sweeps for them once a second, and without it each sweep read the whole
messages table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same terms as bot.storage.models.UNFINISHED_ANSWER renders on each dialect (SQLite uses
# a partial index only for a query holding the index's terms as written).
WHERE = {
    "sqlite": "status = 'streaming' OR delivery_pending IS 1",
    "postgresql": "status = 'streaming' OR delivery_pending IS true",
}


def upgrade() -> None:
    where = sa.text(WHERE.get(op.get_bind().dialect.name, WHERE["postgresql"]))
    op.create_index(
        "ix_messages_unfinished",
        "messages",
        ["conversation_id"],
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_unfinished", table_name="messages")
