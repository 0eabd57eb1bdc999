"""Desk insights (issue 26): durable deferred model jobs, a case's summary and tags, the
relayed messages' text (the transcript the final summary and FAQ drafts read), FAQ drafts
waiting for review, and the support chat's "Knowledge base" topic.

Revision ID: 0016
Revises: 0007
Create Date: 2026-11-24 21:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SURROGATE_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "insight_jobs",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("operation_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_try_at"),
        sa.Column("owner", sa.String(length=128), nullable=True),
        _ts("lease_until", True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("finished_at", True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["desk_cases.id"], name=op.f("fk_insight_jobs_case_id_desk_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_jobs")),
    )
    op.create_index("ix_insight_jobs_status", "insight_jobs", ["status"])
    op.create_index(op.f("ix_insight_jobs_case_id"), "insight_jobs", ["case_id"])
    op.create_index(op.f("ix_insight_jobs_user_id"), "insight_jobs", ["user_id"])
    op.create_table(
        "desk_insights",
        sa.Column("case_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("intent_confidence", sa.Float(), nullable=True),
        sa.Column("sentiment", sa.String(length=32), nullable=True),
        sa.Column("sentiment_confidence", sa.Float(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("language_confidence", sa.Float(), nullable=True),
        sa.Column("final_summary", sa.Text(), nullable=True),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["desk_cases.id"], name=op.f("fk_desk_insights_case_id_desk_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_desk_insights")),
    )
    with op.batch_alter_table("desk_relays") as batch:
        batch.add_column(sa.Column("text", sa.Text(), nullable=True))
    op.create_table(
        "faq_drafts",
        sa.Column("id", SURROGATE_PK, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("reviewer_id", sa.BigInteger(), nullable=True),
        _ts("created_at"),
        _ts("reviewed_at", True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["desk_cases.id"], name=op.f("fk_faq_drafts_case_id_desk_cases"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_drafts")),
    )
    op.create_index("ix_faq_drafts_status", "faq_drafts", ["status"])
    op.create_index(op.f("ix_faq_drafts_job_id"), "faq_drafts", ["job_id"])
    op.create_index(op.f("ix_faq_drafts_case_id"), "faq_drafts", ["case_id"])
    op.create_index(op.f("ix_faq_drafts_user_id"), "faq_drafts", ["user_id"])
    op.create_table(
        "desk_places",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_desk_places")),
    )


def downgrade() -> None:
    op.drop_table("desk_places")
    for index in ("ix_faq_drafts_user_id", "ix_faq_drafts_case_id", "ix_faq_drafts_job_id"):
        op.drop_index(op.f(index), table_name="faq_drafts")
    op.drop_index("ix_faq_drafts_status", table_name="faq_drafts")
    op.drop_table("faq_drafts")
    with op.batch_alter_table("desk_relays") as batch:
        batch.drop_column("text")
    op.drop_table("desk_insights")
    op.drop_index(op.f("ix_insight_jobs_user_id"), table_name="insight_jobs")
    op.drop_index(op.f("ix_insight_jobs_case_id"), table_name="insight_jobs")
    op.drop_index("ix_insight_jobs_status", table_name="insight_jobs")
    op.drop_table("insight_jobs")
