"""`bot.plugin.storage`: fmbot's database, as a feature keeps its own tables and reads the
core's: `Database` and its sessions, the table `Base` and its mixins, the core's tables
(`Conversation`, `Message`, `AnswerTrace`, ...) and repositories, per-user daily counts
(`DailyCounts`, `utc_today`), personal tables (erased with their user), and dialect-aware
upserts. SQLAlchemy only: no aiogram or httpx, so a feature's storage modules may import it."""

from __future__ import annotations

from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.storage.models import (
    AnswerTrace,
    Chat,
    Conversation,
    Message,
    MessageRole,
    MessageStatus,
    User,
    UserRole,
    utc_today,
)
from bot.storage.models.base import Base, BigIntegerPK, TimestampMixin, string_enum, utcnow
from bot.storage.models.traces import NOT_FOUND_TAGGED
from bot.storage.outage import outage_of
from bot.storage.personal import PersonalTable, register_personal
from bot.storage.pooling import one_statement_sessions
from bot.storage.repositories import (
    PROMPT_STATUSES,
    ChatRepository,
    ConversationRepository,
    DailyCounts,
    HistoryEntry,
    MessageRepository,
    TraceRepository,
    UpdateReceipt,
    UsageRepository,
    UserRepository,
    mark_settled,
    record_context,
    settle_in,
)
from bot.storage.repositories._upsert import dialect_name, excluded, insert_for

__all__ = [
    "NOT_FOUND_TAGGED",
    "PROMPT_STATUSES",
    "AnswerTrace",
    "Base",
    "BigIntegerPK",
    "Chat",
    "ChatRepository",
    "Conversation",
    "ConversationRepository",
    "DailyCounts",
    "Database",
    "HistoryEntry",
    "Message",
    "MessageRepository",
    "MessageRole",
    "MessageStatus",
    "PersonalTable",
    "TimestampMixin",
    "TraceRepository",
    "UpdateReceipt",
    "UsageRepository",
    "User",
    "UserRepository",
    "UserRole",
    "dialect_name",
    "excluded",
    "insert_for",
    "mark_settled",
    "migrate",
    "one_statement_sessions",
    "outage_of",
    "record_context",
    "register_personal",
    "settle_in",
    "string_enum",
    "utc_today",
    "utcnow",
]
