"""The tool calls: one row per call a model made, its state, outcome and audit fields."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import Base, BigIntegerPK, string_enum, utcnow


class ToolCallState(StrEnum):
    """Where a stored tool call is. A call is stored before anything runs it."""

    PENDING_CONFIRMATION = "pending_confirmation"  # waits for the user's (or approvers') press
    CONFIRMED = "confirmed"  # pressed; runs next (a crash here runs it on resume)
    DECLINED = "declined"  # the user cancelled it (the button, or a new message)
    EXPIRED = "expired"  # nobody pressed within TOOLS_CONFIRM_TTL
    PENDING = "pending"  # stored, about to run (no confirmation needed)
    RUNNING = "running"  # started: a crash here leaves its outcome unknown
    DONE = "done"  # ran, `result` holds what the model was given
    FAILED = "failed"  # ran and failed (`result` holds the `error: ...` line)


class ToolCall(Base):
    """One call the model asked for in a turn: stored before it runs, with who asked, the
    stable idempotency key its writes carry, its state, result and audit figures.

    It belongs to its question (`question_id`: /forget and retention delete it with the
    question) and to the answer being written (`answer_id`; a /retry replaces the answer and
    detaches the old attempt's calls, a resume after a crash moves them to the new answer).
    """

    __tablename__ = "tool_calls"
    __table_args__ = (
        Index("ix_tool_calls_question_id_round", "question_id", "round", "position"),
        Index("ix_tool_calls_answer_id", "answer_id"),
        Index("ix_tool_calls_chat_id_id", "chat_id", "id"),
        Index("ix_tool_calls_state", "state"),
        Index("ix_tool_calls_created_at", "created_at"),
        Index("uq_tool_calls_idempotency_key", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE")
    )
    answer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="SET NULL")
    )
    # Who asked (never taken from the model's arguments).
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # The model round of the turn (0, 1, ...) and the call's place within it: a native call has
    # no id, its result is matched by name and order.
    round: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The OpenAI-compatible wire's id of the call (sent back as tool_call_id); None natively.
    call_id: Mapped[str | None] = mapped_column(String(128))
    # What the model wrote before its calls in this round (kept with position 0 only).
    preface: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    writes: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[ToolCallState] = mapped_column(
        string_enum(ToolCallState), default=ToolCallState.PENDING
    )
    # What the model is given (cut to TOOLS_RESULT_CHARS), its sha256 and the ToolOutcome.
    result: Mapped[str | None] = mapped_column(Text)
    result_digest: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    # Confirmation: the message with the two buttons, who pressed, when it expires.
    confirm_message_id: Mapped[int | None] = mapped_column(BigInteger)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    # Approval (issue 81): who decides instead of the asker ("group:NAME", "chat:ID"), when
    # they are reminded (cleared once reminded), the cards sent to them ([chat, message]
    # pairs), and how the approver who decided was named (name and e-mail) for the audit.
    approvers: Mapped[str | None] = mapped_column(String(200))
    remind_at: Mapped[dt.datetime | None] = mapped_column()
    approval_cards: Mapped[list[list[int]] | None] = mapped_column(JSON)
    decided_by_name: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
