"""The schema: ORM models shared by the repositories and the Alembic migrations.

Portable between SQLite and PostgreSQL: enums are stored as short strings (no native enum
types, so adding a value never needs a migration on either database), timestamps are stored
as UTC and always come back timezone-aware, and every constraint is named through the
metadata's naming convention so Alembic batch mode can rebuild SQLite tables.

Telegram ids (users, chats, messages) are 64-bit. Surrogate keys use `BigIntegerPK`, which is
BIGINT on PostgreSQL and INTEGER on SQLite, where only `INTEGER PRIMARY KEY` is the rowid
alias that auto-increments.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    literal_column,
    or_,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigIntegerPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class MessageRole(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    CANCELLED = "cancelled"
    FAILED = "failed"
    TRUNCATED = "truncated"
    # Tools (issue 24): the turn waits for the user's press on a call to confirm; the press
    # (or the call's expiry) carries it on. Not in prompts, not swept as unfinished.
    WAITING = "waiting"


class ImageJobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DELIVERED = "delivered"
    FAILED = "failed"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class UserRole(StrEnum):
    USER = "user"
    ADMIN = "admin"


def _enum(cls: type[StrEnum]) -> Enum:
    # Stored by value ("complete"), as VARCHAR(32) without a CHECK constraint: a new member is
    # a code change only, never a table rebuild.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(256), default="")
    last_name: Mapped[str | None] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[UserRole] = mapped_column(_enum(UserRole), default=UserRole.USER)
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
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[MessageRole] = mapped_column(_enum(MessageRole))
    status: Mapped[MessageStatus] = mapped_column(
        _enum(MessageStatus), default=MessageStatus.COMPLETE
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
    # The App's context providers whose text went into this answer's prompt (issue 25).
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


class ImageJob(TimestampMixin, Base):
    __tablename__ = "image_jobs"
    __table_args__ = (Index("ix_image_jobs_status", "status"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model: Mapped[str | None] = mapped_column(String(256))
    operation_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[ImageJobStatus] = mapped_column(
        _enum(ImageJobStatus), default=ImageJobStatus.PENDING
    )
    error: Mapped[str | None] = mapped_column(Text)
    # The "drawing..." message shown while the job runs, and the photo message delivered.
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    result_message_id: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[dt.datetime | None] = mapped_column()


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
    __tablename__ = "daily_usage"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    images: Mapped[int] = mapped_column(Integer, default=0)
    # Photos and voice notes (issue 28): images shown to the vision model, seconds recognised.
    photos: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    speech_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# --- Knowledge base (issue 16) -----------------------------------------------------------------
# Documents from KB_PATH, their passages, the embedding cache and sync runs. The lexical index
# is not mapped: on SQLite an FTS5 table `kb_passages_fts` (external content, kept in step by
# triggers) over `kb_passages.search_text`; on PostgreSQL a stored generated tsvector column
# `search_vector` with a GIN index.
# Both are created by migration 0003 and named in UNMAPPED_SCHEMA_NAMES.

UNMAPPED_SCHEMA_NAMES = frozenset({
    "kb_passages_fts", "kb_passages_fts_data", "kb_passages_fts_idx", "kb_passages_fts_docsize",
    "kb_passages_fts_config", "kb_passages_fts_content", "ix_kb_passages_search",
    "search_vector",
})


class KbDocument(Base):
    """One file under a KB_PATH folder (`path` is relative to that folder, `root`)."""

    __tablename__ = "kb_documents"
    __table_args__ = (Index("ux_kb_documents_root_path", "root", "path", unique=True),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    root: Mapped[str] = mapped_column(String(1024))
    path: Mapped[str] = mapped_column(String(1024))
    title: Mapped[str] = mapped_column(String(512), default="")
    url: Mapped[str | None] = mapped_column(String(2048))
    # sha256 of the file's bytes and the embedding model its passages were embedded with: a
    # file is re-indexed when either differs.
    content_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256))
    passage_count: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class KbPassage(Base):
    __tablename__ = "kb_passages"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text, default="")  # "Returns > Refund times"
    text: Mapped[str] = mapped_column(Text)
    # Stemmed words (Russian and English Snowball) that the full-text index sees.
    search_text: Mapped[str] = mapped_column(Text)
    # sha256 of what was embedded (title, heading and text): the embedding cache key.
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # A FAQ pair's own title (its question) and link; NULL: the document's (migration 0009).
    title: Mapped[str | None] = mapped_column(String(512))
    url: Mapped[str | None] = mapped_column(String(2048))


class KbEmbedding(Base):
    """Embedding cache: one vector per embedded text and model, reused across syncs."""

    __tablename__ = "kb_embeddings"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(256), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64), default="")
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class KbSyncRun(Base):
    __tablename__ = "kb_sync_runs"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(32), default="running")  # done | failed
    files: Mapped[int] = mapped_column(Integer, default=0)
    passages: Mapped[int] = mapped_column(Integer, default=0)
    embedded: Mapped[int] = mapped_column(Integer, default=0)
    reused: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    # [[path, reason], ...] for files skipped or failed in this run.
    skipped: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)


class KbAnswer(Base):
    """How the knowledge base took part in an answer (one row per grounded or abstained turn)."""

    __tablename__ = "kb_answers"

    message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False,
    )
    # False: the knowledge base did not cover the question (abstention or not-found marker).
    covered: Mapped[bool] = mapped_column(Boolean)
    # [{"n", "path", "title", "url", "score", "cited"}, ...]: the sources given to the model.
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    query: Mapped[str] = mapped_column(Text, default="")  # the (rewritten) search query


# --- Support desk (issue 17) ---------------------------------------------------------------------


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
    __table_args__ = (Index("ix_desk_cases_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[DeskStatus] = mapped_column(_enum(DeskStatus), default=DeskStatus.BOT)
    user_name: Mapped[str] = mapped_column(String(256), default="")
    language: Mapped[str | None] = mapped_column(String(16))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_user_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    not_found_streak: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column()  # a thanks or a 👍
    handoff_reason: Mapped[HandoffReason | None] = mapped_column(_enum(HandoffReason))
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
    direction: Mapped[RelayDirection] = mapped_column(_enum(RelayDirection))
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    target_chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    target_message_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[RelayState] = mapped_column(_enum(RelayState), default=RelayState.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column()
    # The message's text or caption (issue 26): the case's transcript for its final summary
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


# --- Tools (issue 24) ---------------------------------------------------------------------------


class ToolCallState(StrEnum):
    """Where a stored tool call is. A call is stored before anything runs it."""

    PENDING_CONFIRMATION = "pending_confirmation"  # waits for the user's press
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
        _enum(ToolCallState), default=ToolCallState.PENDING
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
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()


# --- Photos and voice notes (issue 28) ---------------------------------------------------------


class MessageImage(Base):
    """An image a user message carried, by its Telegram file: the bytes stay with Telegram and
    are fetched again (by `file_id`) when a later turn shows the image to the model again."""

    __tablename__ = "message_images"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)  # order within the message
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(128), default="")
    width: Mapped[int] = mapped_column(Integer, default=0)  # as sent to the model
    height: Mapped[int] = mapped_column(Integer, default=0)
    token_count: Mapped[int] = mapped_column(Integer, default=0)  # its cost in a prompt


# --- Documents sent in chat (issue 28) ----------------------------------------------------------


class ChatDocument(Base):
    """A document (PDF, DOCX, text) a user sent in a chat, read and kept for its conversation:
    its passages, searched for each question (bot/conversation/documents.py). Gone with the
    conversation (/reset, retention) and with its author (/forget)."""

    __tablename__ = "chat_documents"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    author_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    file_name: Mapped[str] = mapped_column(String(256))
    # Telegram's id of the file's content: the same file sent again (or replayed) replaces it.
    file_unique_id: Mapped[str] = mapped_column(String(128), default="")
    pages: Mapped[int | None] = mapped_column(Integer)
    chars: Mapped[int] = mapped_column(Integer, default=0)  # of the passages kept
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)  # over the budget: cut
    # [[heading, text], ...]: the document's passages in reading order.
    passages: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- Desk insights (issue 26) -----------------------------------------------------------------
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
        _enum(InsightJobStatus), default=InsightJobStatus.PENDING
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
    """A question/answer pair drawn from a case an operator answered (issue 26, item 3).
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
        _enum(FaqDraftStatus), default=FaqDraftStatus.PENDING
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
