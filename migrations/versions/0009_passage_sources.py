"""A passage's own title and link (kb_passages.title, .url): each pair of a FAQ table is its
own source, cited with its question and its `url`; and "not found" answers stored as the user
saw them, never as the model's marker (issue 27).

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-24 20:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): no table rebuild on SQLite (kb_passages has
    # the full-text triggers of 0003), no rewrite on PostgreSQL.
    op.add_column("kb_passages", sa.Column("title", sa.String(512), nullable=True))
    op.add_column("kb_passages", sa.Column("url", sa.String(2048), nullable=True))
    # FAQ tables are indexed again at the next sync, so their pairs get their own titles and
    # links; what they embed is unchanged, so the embedding cache answers (no Yandex call).
    op.execute(
        "UPDATE kb_documents SET content_hash = '' "
        "WHERE lower(path) LIKE '%.csv' OR lower(path) LIKE '%.jsonl'"
    )
    _rewrite_markers()


# The texts users were shown (bot/knowledge/grounding.py NOT_FOUND_TEXT, as of this revision).
NOT_FOUND_EN = "I could not find this in our knowledge base."
NOT_FOUND_RU = "Я не нашёл ответа на этот вопрос в нашей базе знаний."
MARKED = "role = 'assistant' AND text LIKE '%NO_ANSWER_IN_SOURCES%'"


def _rewrite_markers() -> None:
    """Answers stored as the marker get the text their user saw (Russian for a private chat
    of a Russian-speaking user, as the bot chose it; English otherwise)."""
    russian = (
        "conversation_id IN (SELECT c.id FROM conversations c JOIN users u ON u.id = c.chat_id "
        "WHERE lower(u.language) LIKE 'ru%')"
    )
    op.execute(
        sa.text(f"UPDATE messages SET text = :text WHERE {MARKED} AND {russian}")
        .bindparams(text=NOT_FOUND_RU)
    )
    op.execute(sa.text(f"UPDATE messages SET text = :text WHERE {MARKED}")
               .bindparams(text=NOT_FOUND_EN))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): no rebuild, the triggers stay.
    op.drop_column("kb_passages", "url")
    op.drop_column("kb_passages", "title")
