"""Outbox errors and the classification of Bot API failures that streaming must survive.

Error texts: https://core.telegram.org/bots/api#making-requests and real answers collected
from public bots' issue trackers (aiogram-stream-sender's transport/classify.py has the same
split into message-level and chat-level failures).
"""

from __future__ import annotations

import enum

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
)


class OutboxError(Exception):
    """A delivery the outbox could not complete."""


class ChatUnreachableError(OutboxError):
    """The chat cannot receive messages (bot blocked or kicked, chat or topic gone, no rights)."""

    def __init__(self, chat_id: int, reason: str) -> None:
        super().__init__(f"chat {chat_id} is unreachable: {reason}")
        self.chat_id = chat_id
        self.reason = reason


class OutboxClosedError(OutboxError):
    """The outbox was closed before this delivery ran."""


class Failure(enum.Enum):
    NOT_MODIFIED = "not_modified"  # the edit is already shown: success
    MESSAGE_GONE = "message_gone"  # this one message cannot be edited any more
    CHAT_GONE = "chat_gone"  # nothing more can be sent to this chat
    REFUSED = "refused"  # the method itself is refused here (drafts not available)
    BAD_ENTITIES = "bad_entities"  # resend as plain text
    TRANSIENT = "transient"  # 5xx / network: retry later
    OTHER = "other"


_MESSAGE_GONE = (
    "message to edit not found",
    "message can't be edited",
    "message_id_invalid",
    "message to delete not found",
    "message can't be deleted",
)
_CHAT_GONE = (
    "bot was blocked",
    "bot was kicked",
    "chat not found",
    "user is deactivated",
    "not enough rights",
    "have no rights",
    "need administrator rights",
    "chat_write_forbidden",
    "topic_closed",
    "topic_deleted",
    "message thread not found",
)
_BAD_ENTITIES = ("can't parse entities", "entity beginning", "entities", "text_link")


def classify(exc: TelegramAPIError) -> Failure:
    text = (exc.message or "").lower()
    if isinstance(exc, TelegramForbiddenError | TelegramMigrateToChat):
        return Failure.CHAT_GONE
    if isinstance(exc, TelegramEntityTooLarge):
        return Failure.OTHER
    if isinstance(exc, TelegramServerError | TelegramNetworkError):
        return Failure.TRANSIENT
    if "message is not modified" in text:
        return Failure.NOT_MODIFIED
    if any(marker in text for marker in _MESSAGE_GONE):
        return Failure.MESSAGE_GONE
    if any(marker in text for marker in _CHAT_GONE):
        return Failure.CHAT_GONE
    if any(marker in text for marker in _BAD_ENTITIES):
        return Failure.BAD_ENTITIES
    if isinstance(exc, TelegramNotFound):
        return Failure.REFUSED  # "method not found" on a server without the method
    if isinstance(exc, TelegramBadRequest):
        return Failure.OTHER
    return Failure.TRANSIENT if exc.__class__ is TelegramAPIError else Failure.OTHER
