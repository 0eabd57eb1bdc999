"""The state of a turn between its two units of work, and the window-to-history step."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.conversation.types import ChatRef, Speaker
from bot.foundation_models.types import CompletionStatus, Role
from bot.knowledge.grounding import Grounding
from bot.knowledge.types import Retrieval
from bot.prompting import HistoryItem
from bot.storage.models import MessageRole, MessageStatus
from bot.storage.repositories import HistoryEntry

PROMPT_STATUSES = frozenset({MessageStatus.COMPLETE, MessageStatus.TRUNCATED})
WITH_FAILED = PROMPT_STATUSES | {MessageStatus.CANCELLED, MessageStatus.FAILED}
STATUS_FOR = {
    CompletionStatus.FINAL: MessageStatus.COMPLETE,
    CompletionStatus.TRUNCATED_FINAL: MessageStatus.TRUNCATED,
    CompletionStatus.CONTENT_FILTER: MessageStatus.FAILED,
}


@dataclass(frozen=True, slots=True)
class Question:
    """The stored user message a turn answers (plain values, not a tracked ORM object)."""

    id: int
    conversation_id: int
    text: str
    token_count: int | None
    author_name: str | None


@dataclass(slots=True)
class TurnState:
    """A turn between its two units of work."""

    chat: ChatRef
    speaker: Speaker
    model: str
    system_prompt: str
    question: Question
    answer_id: int
    window: list[HistoryEntry]
    count: asyncio.Future[int] | None = None  # the tokenizer's count of the question
    trimmed: bool = False
    # The Telegram messages showing the answer while it streams (stored with the answer).
    shown: tuple[int, ...] | None = None
    # Knowledge base: what was found for the question, and the grounded prompt if any.
    retrieval: Retrieval | None = None
    grounding: Grounding | None = None
    abstained: bool = False  # strict mode found nothing: answered "not found", no model call
    # Context providers (the App's `@app.context`): their text for the system prompt, its
    # estimated tokens, and which providers it came from (stored with the answer).
    context_text: str = ""
    context_tokens: int = 0
    context_providers: tuple[str, ...] = ()

    @property
    def question_id(self) -> int:
        return self.question.id


def previous_questions(window: list[HistoryEntry], question_id: int) -> list[str]:
    """The user's earlier questions in the window, oldest first (for follow-up search)."""
    return [e.text for e in window if e.id < question_id and e.role is MessageRole.USER]


def history_before(window: list[HistoryEntry], question_id: int) -> tuple[list[HistoryItem], bool]:
    """The window's messages older than the question, for the prompt builder; and whether an
    answer was dropped because its question is outside the window (the window is contiguous,
    so only its oldest message can be such a half turn, which never goes into a prompt)."""
    entries = [entry for entry in window if entry.id < question_id]
    dropped = bool(entries) and entries[0].role is MessageRole.ASSISTANT
    return [_item(entry) for entry in (entries[1:] if dropped else entries)], dropped


def _item(entry: HistoryEntry) -> HistoryItem:
    role = Role.USER if entry.role is MessageRole.USER else Role.ASSISTANT
    return HistoryItem(role, entry.text, entry.token_count, entry.author_name)
