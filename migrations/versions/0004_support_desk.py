"""Support desk: cases, forum topics, relayed messages, answered turns, erasure counts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
# The chain is 0001 -> 0002 -> 0003 -> 0004; 0002 and 0003 live on other branches until the
# merge, which points this at "0003".
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SURROGATE_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _enum(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length=32), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "desk_cases",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        _enum("status"),
        sa.Column("user_name", sa.String(length=256), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        _ts("opened_at"),
        _ts("last_user_at"),
        sa.Column("not_found_streak", sa.Integer(), nullable=False),
        _ts("confirmed_at", True),
        _enum("handoff_reason", True),
        _ts("handoff_at", True),
        sa.Column("card_message_id", sa.BigInteger(), nullable=True),
        _ts("first_reply_at", True),
        _ts("resolved_at", True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        _ts("csat_asked_at", True),
        sa.Column("csat_score", sa.Integer(), nullable=True),
        sa.Column("csat_comment", sa.Text(), nullable=True),
        sa.Column("csat_comment_pending", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_cases")),
    )
    op.create_index("ix_desk_cases_user_id_id", "desk_cases", ["user_id", "id"])
    op.create_table(
        "desk_topics",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_desk_topics")),
    )
    op.create_index(
        "uq_desk_topics_thread_id", "desk_topics", ["chat_id", "thread_id"], unique=True
    )
    op.create_table(
        "desk_relays",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        _enum("direction"),
        sa.Column("source_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("target_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("target_message_id", sa.BigInteger(), nullable=True),
        _enum("state"),
        sa.Column("error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("done_at", True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["desk_cases.id"],
            name=op.f("fk_desk_relays_case_id_desk_cases"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_relays")),
    )
    op.create_index(
        "uq_desk_relays_source",
        "desk_relays",
        ["source_chat_id", "source_message_id"],
        unique=True,
    )
    op.create_index("ix_desk_relays_state", "desk_relays", ["state"])
    op.create_index(op.f("ix_desk_relays_case_id"), "desk_relays", ["case_id"])
    op.create_index(op.f("ix_desk_relays_user_id"), "desk_relays", ["user_id"])
    op.create_table(
        "desk_turns",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("not_found", sa.Boolean(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("answer_message_id", sa.BigInteger(), nullable=True),
        sa.Column("question_message_id", sa.BigInteger(), nullable=True),
        sa.Column("feedback", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["desk_cases.id"],
            name=op.f("fk_desk_turns_case_id_desk_cases"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_turns")),
    )
    op.create_index(op.f("ix_desk_turns_case_id"), "desk_turns", ["case_id"])
    op.create_index(
        op.f("ix_desk_turns_question_message_id"), "desk_turns", ["question_message_id"]
    )
    op.create_table(
        "desk_erasures",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_desk_erasures")),
    )


def downgrade() -> None:
    op.drop_table("desk_erasures")
    op.drop_index(op.f("ix_desk_turns_case_id"), table_name="desk_turns")
    op.drop_table("desk_turns")
    op.drop_index(op.f("ix_desk_relays_user_id"), table_name="desk_relays")
    op.drop_index(op.f("ix_desk_relays_case_id"), table_name="desk_relays")
    op.drop_index("ix_desk_relays_state", table_name="desk_relays")
    op.drop_index("uq_desk_relays_source", table_name="desk_relays")
    op.drop_table("desk_relays")
    op.drop_index("uq_desk_topics_thread_id", table_name="desk_topics")
    op.drop_table("desk_topics")
    op.drop_index("ix_desk_cases_user_id_id", table_name="desk_cases")
    op.drop_table("desk_cases")
