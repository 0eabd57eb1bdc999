"""The desk's learning loop: deferred model jobs, case insights, FAQ drafts, places,
conversation scores."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import Base, BigIntegerPK, string_enum, utcnow


class InsightJobStatus(StrEnum):
    PENDING = "pending"  # stored, not submitted (or its submit failed and waits for a retry)
    RUNNING = "running"  # submitted: the operation id is stored, polled until done
    DONE = "done"  # the result is stored; its effect (a card edit, ...) not applied yet
    APPLIED = "applied"  # the result reached its place
    FAILED = "failed"  # gave up after its attempts (error kept)


class InsightJob(Base):
    """One piece of deferred model work (a handoff summary, a case's final summary, FAQ drafts,
    a gap's label): stored before `completionAsync` is submitted, the operation id stored
    before it is polled, resumed after a restart or by another replica (`lease_until`)."""

    __tablename__ = "insight_jobs"
    __table_args__ = (Index("ix_insight_jobs_status", "status"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("desk_cases.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # {"messages": [{"role", "text"}], "schema": {...} | null, "max_tokens": int}
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model: Mapped[str] = mapped_column(String(256), default="")
    mode: Mapped[str] = mapped_column(String(8), default="async")  # async | sync
    operation_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[InsightJobStatus] = mapped_column(
        string_enum(InsightJobStatus), default=InsightJobStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[dt.datetime | None] = mapped_column()
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()


class DeskInsight(Base):
    """What the model said about a case: the handoff summary and tags (intent, sentiment,
    language, each with a confidence) and the final summary. Goes with its case."""

    __tablename__ = "desk_insights"

    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("desk_cases.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False,
    )
    summary: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64))
    intent_confidence: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[str | None] = mapped_column(String(32))
    sentiment_confidence: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    language_confidence: Mapped[float | None] = mapped_column(Float)
    final_summary: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FaqDraftStatus(StrEnum):
    PENDING = "pending"  # waits for a person's review
    APPROVED = "approved"  # written to KB_DRAFTS_FILE
    REJECTED = "rejected"


class FaqDraft(Base):
    """A question/answer pair drawn from a case an operator answered.
    Nothing reaches the knowledge base before a person approves it. /forget and retention
    delete a user's pending drafts; reviewed ones lose their link to the case and user."""

    __tablename__ = "faq_drafts"
    __table_args__ = (Index("ix_faq_drafts_status", "status"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    job_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    case_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("desk_cases.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[FaqDraftStatus] = mapped_column(
        string_enum(FaqDraftStatus), default=FaqDraftStatus.PENDING
    )
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32, normalised
    message_id: Mapped[int | None] = mapped_column(BigInteger)  # in the "Knowledge base" topic
    reviewer_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column()


class DeskPlace(Base):
    """A named place in the support chat the bot made for itself (the "Knowledge base" topic
    where FAQ drafts are reviewed): made once, found again after a restart."""

    __tablename__ = "desk_places"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int] = mapped_column(BigInteger)


class ScoreStatus(StrEnum):
    SCORED = "scored"  # the scorer's answer parsed and passed validation
    UNSCORED = "unscored"  # its answer did not (or the job gave up): never counted resolved


class DeskScore(Base):
    """The quality scorer's verdict on a finished conversation (issue 66): resolved or not,
    answered from the knowledge base or not, the tone, a policy breach if any, with the
    transcript line that shows it. Goes with its case (/forget, retention)."""

    __tablename__ = "desk_scores"

    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("desk_cases.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False,
    )
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[ScoreStatus] = mapped_column(string_enum(ScoreStatus))
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    from_knowledge_base: Mapped[bool | None] = mapped_column(Boolean)
    tone: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[int | None] = mapped_column(Integer)  # 1 (worst) - 5 (best)
    breach: Mapped[str | None] = mapped_column(Text)  # scrubbed; None: no breach
    evidence_line: Mapped[int | None] = mapped_column(Integer)  # 1-based, in the transcript
    evidence: Mapped[str | None] = mapped_column(Text)  # scrubbed quote of that line
    # Why it is unscored; on a scored one, why it is not counted resolved (qa.py).
    error: Mapped[str | None] = mapped_column(Text)
    scored_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
