"""The support desk's tables: cases, forum topics, relayed messages, turns, erasures."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import Base, BigIntegerPK, string_enum, utcnow


class DeskStatus(StrEnum):
    """Who owns a user's conversation: the bot, nobody yet (waiting for a person), a person."""

    BOT = "bot"
    WAITING = "waiting"
    WITH_OPERATOR = "with_operator"
    RESOLVED = "resolved"


class HandoffReason(StrEnum):
    USER_REQUEST = "user_request"  # /operator, the button, or the words
    KB_MISS = "kb_miss"  # two "not found" answers in a row
    CLASSIFIER = "classifier"  # HANDOFF_CLASSIFIER: a request for a person
    COMPLAINT = "complaint"  # HANDOFF_CLASSIFIER: a complaint


class RelayDirection(StrEnum):
    TO_TOPIC = "to_topic"  # the user's message copied into their topic
    TO_USER = "to_user"  # an operator's message copied to the user


class RelayState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class DeskCase(Base):
    """One support conversation of a user: opened by their first message, ended by /close,
    by /bot and 24 h of silence, or by erasure. At most one is not resolved per user."""

    __tablename__ = "desk_cases"
    # By opening time: the report's and the console's figures read a period's cases.
    __table_args__ = (Index("ix_desk_cases_user_id_id", "user_id", "id"),
                      Index("ix_desk_cases_opened_at", "opened_at"))

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[DeskStatus] = mapped_column(string_enum(DeskStatus), default=DeskStatus.BOT)
    user_name: Mapped[str] = mapped_column(String(256), default="")
    language: Mapped[str | None] = mapped_column(String(16))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_user_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    not_found_streak: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column()  # a thanks or a 👍
    handoff_reason: Mapped[HandoffReason | None] = mapped_column(string_enum(HandoffReason))
    handoff_at: Mapped[dt.datetime | None] = mapped_column()
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    first_reply_at: Mapped[dt.datetime | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    # "closed" (/close) or "returned" (/bot gave it back to the bot).
    resolution: Mapped[str | None] = mapped_column(String(16))
    csat_asked_at: Mapped[dt.datetime | None] = mapped_column()
    csat_score: Mapped[int | None] = mapped_column(Integer)
    csat_comment: Mapped[str | None] = mapped_column(Text)
    csat_comment_pending: Mapped[bool] = mapped_column(Boolean, default=False)


class DeskTopic(Base):
    """A user's forum topic in the support chat (kept across conversations, reopened)."""

    __tablename__ = "desk_topics"
    __table_args__ = (Index("uq_desk_topics_thread_id", "chat_id", "thread_id", unique=True),)

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int] = mapped_column(BigInteger)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeskRelay(Base):
    """One relayed message, stored as pending (source ids) before it is copied and with the
    copy's id once Telegram took it: a restart resends what is pending and nothing else."""

    __tablename__ = "desk_relays"
    __table_args__ = (
        Index("uq_desk_relays_source", "source_chat_id", "source_message_id", unique=True),
        Index("ix_desk_relays_state", "state"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("desk_cases.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    direction: Mapped[RelayDirection] = mapped_column(string_enum(RelayDirection))
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    target_chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    target_message_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[RelayState] = mapped_column(string_enum(RelayState), default=RelayState.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column()
    # The message's text or caption: the case's transcript for its final summary
    # and FAQ drafts. Erased with the case.
    text: Mapped[str | None] = mapped_column(Text)


class DeskTurn(Base):
    """A question the bot answered within a case: what the report's knowledge-base gaps and
    👍/👎 counts come from."""

    __tablename__ = "desk_turns"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("desk_cases.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text, default="")
    not_found: Mapped[bool] = mapped_column(Boolean, default=False)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The stored question (messages.id): /retry or a restart answering it again replaces the
    # turn instead of counting the question twice.
    question_message_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    feedback: Mapped[int | None] = mapped_column(Integer)  # +1 👍, -1 👎
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeskErasure(Base):
    """How many conversations /forget and retention deleted, per day of their opening: the
    report keeps only these counts of them."""

    __tablename__ = "desk_erasures"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    conversations: Mapped[int] = mapped_column(Integer, default=0)


class DeskNote(Base):
    """An operator's internal note in a user's topic (a message starting with "//", never
    relayed to the user), kept with its case for the console's transcript; it goes with the
    case (/forget, retention)."""

    __tablename__ = "desk_notes"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("desk_cases.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(256), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
