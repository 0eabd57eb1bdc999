"""Repositories: intention-named queries over one AsyncSession. They flush, never commit."""

from __future__ import annotations

from bot.storage.repositories.batch import commit_with
from bot.storage.repositories.conversations import (
    PROMPT_STATUSES,
    ConversationRepository,
    HistoryEntry,
)
from bot.storage.repositories.counts import DailyCounts
from bot.storage.repositories.extensions import record_context
from bot.storage.repositories.messages import MessageRepository
from bot.storage.repositories.privacy import PrivacyRepository
from bot.storage.repositories.traces import TraceRepository
from bot.storage.repositories.updates import (
    IncomingUpdate,
    PendingUpdate,
    UpdateReceipt,
    UpdateRepository,
    mark_settled,
    settle_in,
    settle_statements,
)
from bot.storage.repositories.usage import UsageCount, UsageRepository
from bot.storage.repositories.users import ChatRepository, UserRepository

__all__ = [
    "PROMPT_STATUSES",
    "ChatRepository",
    "ConversationRepository",
    "DailyCounts",
    "HistoryEntry",
    "IncomingUpdate",
    "MessageRepository",
    "PendingUpdate",
    "PrivacyRepository",
    "TraceRepository",
    "UpdateReceipt",
    "UpdateRepository",
    "UsageCount",
    "UsageRepository",
    "UserRepository",
    "commit_with",
    "mark_settled",
    "record_context",
    "settle_in",
    "settle_statements",
]
