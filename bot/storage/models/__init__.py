"""The core's schema: its ORM models, and the `Base` every feature's tables register on
(bot/features/<name>/; bot/features/installed.py loads them all for Alembic and the checks).

Portable between SQLite and PostgreSQL: enums are stored as short strings (no native enum
types, so adding a value never needs a migration on either database), timestamps are stored
as UTC and always come back timezone-aware, and every constraint is named through the
metadata's naming convention so Alembic batch mode can rebuild SQLite tables.

Telegram ids (users, chats, messages) are 64-bit. Surrogate keys use `BigIntegerPK`, which is
BIGINT on PostgreSQL and INTEGER on SQLite, where only `INTEGER PRIMARY KEY` is the rowid
alias that auto-increments.
"""

from __future__ import annotations

from bot.storage.models.base import (
    Base,
    BigIntegerPK,
    MessageRole,
    MessageStatus,
    UserRole,
    utc_today,
    utcnow,
)
from bot.storage.models.chats import (
    UNFINISHED_ANSWER,
    Chat,
    Conversation,
    DailyCount,
    DailyUsage,
    Message,
    ProcessedUpdate,
    User,
)
from bot.storage.models.traces import AnswerTrace

__all__ = [
    "UNFINISHED_ANSWER",
    "AnswerTrace",
    "Base",
    "BigIntegerPK",
    "Chat",
    "Conversation",
    "DailyCount",
    "DailyUsage",
    "Message",
    "MessageRole",
    "MessageStatus",
    "ProcessedUpdate",
    "User",
    "UserRole",
    "utc_today",
    "utcnow",
]
