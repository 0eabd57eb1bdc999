"""Value types of the conversation core."""

from __future__ import annotations

from dataclasses import dataclass

from bot.foundation_models.errors import FoundationModelsError
from bot.foundation_models.types import Usage
from bot.storage.models import MessageStatus

GROUP_TYPES = frozenset({"group", "supergroup"})


class ContentFilteredError(FoundationModelsError):
    """The model withheld its answer (CONTENT_FILTER); `text` is what it sent instead."""

    def __init__(self, text: str) -> None:
        super().__init__("the model withheld its answer (content filter)")
        self.text = text


@dataclass(frozen=True)
class Speaker:
    user_id: int
    display_name: str
    language: str | None = None


@dataclass(frozen=True)
class ChatRef:
    chat_id: int
    type: str  # "private" | "group" | "supergroup"
    title: str | None = None

    @property
    def is_group(self) -> bool:
        return self.type in GROUP_TYPES


@dataclass(frozen=True)
class TurnResult:
    message_id: int  # the answer's database id
    text: str
    status: MessageStatus
    usage: Usage | None
    trimmed_history: bool  # older turns were left out of the prompt (or cut)
    error: Exception | None
    user_message_id: int = 0
    model: str = ""
    # The Telegram messages stored with the answer (those that showed it while it streamed).
    telegram_message_ids: tuple[int, ...] = ()
    # The knowledge base did not cover the question (set by the knowledge-base core, issue 16);
    # the support desk counts two in a row as a reason to hand over.
    not_found: bool = False
