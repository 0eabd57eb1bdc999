"""Users, chats, conversations and their messages; processed updates and daily usage: the
tables every deployment has."""

from __future__ import annotations

import datetime as dt

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
    literal_column,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import (
    Base,
    BigIntegerPK,
    MessageRole,
    MessageStatus,
    TimestampMixin,
    UserRole,
    string_enum,
    utcnow,
)


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(256), default="")
    last_name: Mapped[str | None] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[UserRole] = mapped_column(string_enum(UserRole), default=UserRole.USER)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)


class Chat(TimestampMixin, Base):
    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Telegram's chat type: "private", "group", "supergroup" or "channel".
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(256))
    # Per-chat overrides; None means the deployment default.
    model: Mapped[str | None] = mapped_column(String(256))
    system_prompt: Mapped[str | None] = mapped_column(Text)


class Conversation(Base):
    """A chat's thread of messages. At most one per chat is open (closed_at IS NULL)."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index(
            "uq_conversations_open_chat_id",
            "chat_id",
            unique=True,
            sqlite_where="closed_at IS NULL",
            postgresql_where="closed_at IS NULL",
        ),
        Index("ix_conversations_closed_at", "closed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), index=True
    )
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column()


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # The prompt window is read newest-first within one conversation: this index makes it
        # cost the window, not the history.
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        # A day's messages by conversation (the console's list of a day; retention's cutoff):
        # a range of this index, without reading the rows.
        Index("ix_messages_created_at_conversation_id", "created_at", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[MessageRole] = mapped_column(string_enum(MessageRole))
    status: Mapped[MessageStatus] = mapped_column(
        string_enum(MessageStatus), default=MessageStatus.COMPLETE
    )
    # Who wrote a user message (groups show the name to the model). No foreign key: usage and
    # history are recorded even for a user row not stored yet; forget_user deletes by id.
    author_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    author_name: Mapped[str | None] = mapped_column(String(256))
    # The user message an answer replies to; deleting the question deletes the answer.
    reply_to_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text, default="")
    # A long answer spans several Telegram messages: their ids in order.
    telegram_message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Tokens this message costs in a prompt (API usage or tokenizer); None = not known yet.
    token_count: Mapped[int | None] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(String(256))
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Several replicas: an answer stored with its final status but not yet delivered to
    # Telegram (the final message may wait for a flood limit). A replica dying then leaves it
    # True, and the one taking the chat over answers the question again. NULL otherwise.
    delivery_pending: Mapped[bool | None] = mapped_column()
    # The App's context providers whose text went into this answer's prompt.
    context_providers: Mapped[list[str] | None] = mapped_column(JSON)


# An answer not finished: still `streaming`, or stored but not delivered yet. Every replica
# sweeps for these once a second (bot/telegram/maintenance.py), so they have a partial index
# holding just them: the sweep costs the few unfinished answers, not the whole history. The
# status is a literal, not a bound parameter: SQLite uses a partial index only when the
# query's WHERE holds the index's own terms, constants included
# (https://www.sqlite.org/partialindex.html, "Queries Using Partial Indexes").
UNFINISHED_ANSWER = or_(
    Message.status == literal_column(f"'{MessageStatus.STREAMING.value}'"),
    Message.delivery_pending.is_(True),
)
Index(
    "ix_messages_unfinished",
    Message.conversation_id,
    sqlite_where=UNFINISHED_ANSWER,
    postgresql_where=UNFINISHED_ANSWER,
)


class ProcessedUpdate(Base):
    """Telegram update ids accepted by the bot (exactly-once). Ids are per bot, hence bot_id.

    The row is written before Telegram is told the update arrived (the webhook's 200, the
    next getUpdates offset). A message whose effect is not stored yet keeps its update JSON in
    `payload` (the durable queue): the effect's own transaction clears it (the question stored,
    the conversation reset, the image job created), and a restart replays every row that still
    has one, in update_id order (Telegram's delivery order).
    """

    __tablename__ = "processed_updates"
    __table_args__ = (
        Index("ix_processed_updates_processed_at", "processed_at"),
        Index(
            "ix_processed_updates_pending",
            "bot_id",
            "update_id",
            sqlite_where=text("payload IS NOT NULL"),
            postgresql_where=text("payload IS NOT NULL"),
        ),
    )

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str | None] = mapped_column(Text)


class DailyUsage(Base):
    """Tokens each user spent per UTC day (DAILY_TOKEN_LIMIT, /stats): the answer's own
    counters. A feature's counters (pictures drawn, seconds heard...) are `DailyCount` rows."""

    __tablename__ = "daily_usage"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    # Of `tokens`, those the model spent on hidden reasoning (REASONING=on): shown in /stats.
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class DailyCount(Base):
    """Something counted per user per UTC day, of a `kind` the counting feature names (a
    short string kept in its folder): the features' daily limits, /stats and `fmbot report`
    read it (bot/storage/repositories/counts.py). The core names no kind."""

    __tablename__ = "daily_counts"
    # The day's totals and `fmbot report` read one kind over days, not one user.
    __table_args__ = (Index("ix_daily_counts_kind_day", "kind", "day"),)

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
