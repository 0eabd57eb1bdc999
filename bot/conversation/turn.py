"""The state of a turn between its two units of work, and the window-to-history step."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar, cast

from bot.conversation.trace import Trace
from bot.conversation.types import ChatRef, Speaker
from bot.foundation_models.types import ChatMessage, CompletionStatus, Role
from bot.prompting import HistoryItem
from bot.storage.models import MessageRole, MessageStatus
from bot.storage.repositories import PROMPT_STATUSES, HistoryEntry

WITH_FAILED = PROMPT_STATUSES | {MessageStatus.CANCELLED, MessageStatus.FAILED}
STATUS_FOR = {
    CompletionStatus.FINAL: MessageStatus.COMPLETE,
    CompletionStatus.TRUNCATED_FINAL: MessageStatus.TRUNCATED,
    CompletionStatus.CONTENT_FILTER: MessageStatus.FAILED,
    # A feature ends a stream with TOOL_CALLS only when it suspends the answer
    # (`TurnState.suspended`; the tool loop's call to confirm): stored `waiting`.
    CompletionStatus.TOOL_CALLS: MessageStatus.WAITING,
}


@dataclass(frozen=True, slots=True)
class Question:
    """The stored user message a turn answers (plain values, not a tracked ORM object)."""

    id: int
    conversation_id: int
    text: str
    token_count: int | None
    author_name: str | None


T = TypeVar("T")


@dataclass(slots=True)
class TurnState:
    """A turn between its two units of work: what opening it decided, then what each later
    step adds. A feature keeps its own state in a slot (`part`), not in a field here."""

    chat: ChatRef
    speaker: Speaker
    model: str
    system_prompt: str
    question: Question
    answer_id: int
    window: list[HistoryEntry]
    # Tokens the prompt may take (the context minus the reply reserve); 0 = not limited.
    room: int = 0
    started: float = 0.0  # time.monotonic() when the turn was opened (the answer's latency)
    first_words: float | None = None  # time.monotonic() when the first text came (the trace)
    count: asyncio.Future[int] | None = None  # the tokenizer's count of the question
    trimmed: bool = False
    # The Telegram messages showing the answer while it streams (stored with the answer).
    shown: tuple[int, ...] | None = None
    # The model-side exchanges stored with the window's answers (calls and their results, by
    # answer id): the prompt replays each after its answer's text.
    exchanges: Mapping[int, tuple[ChatMessage, ...]] = field(default_factory=dict)
    # A feature suspended the answer, for this reason (the tool loop's "press": a call waits
    # for the user's press; its stream ended in TOOL_CALLS): the answer is stored `waiting`,
    # what it waits for is in that feature's slot, and that feature resumes it.
    suspended: str | None = None
    # The features' slots (features.py), by their type; handed on to the result.
    parts: dict[type, object] = field(default_factory=dict)
    # Why the answer is what it is: each feature's entries and the model's, stored with the
    # answer (trace.py).
    trace: Trace = field(default_factory=Trace)

    @property
    def question_id(self) -> int:
        return self.question.id

    def part(self, kind: type[T]) -> T:
        """The slot of `kind` (made on first use; `kind()` must take no arguments)."""
        return slot(self.parts, kind)


def slot(parts: dict[type, object], kind: type[T]) -> T:
    """`parts[kind]`, made with `kind()` when missing."""
    found = parts.get(kind)
    if found is None:
        found = parts[kind] = kind()
    return cast(T, found)


def previous_questions(window: list[HistoryEntry], question_id: int) -> list[str]:
    """The user's earlier questions in the window, oldest first (for follow-up search)."""
    return [e.text for e in window if e.id < question_id and e.role is MessageRole.USER]


def history_before(
    window: list[HistoryEntry],
    question_id: int,
    exchanges: Mapping[int, tuple[ChatMessage, ...]] | None = None,
) -> tuple[list[HistoryItem], bool]:
    """The window's messages older than the question, for the prompt builder; and whether an
    answer was dropped because its question is outside the window (the window is contiguous,
    so only its oldest message can be such a half turn, which never goes into a prompt).
    A message a person wrote into the chat (an operator's reply, stored as an assistant
    message with its author) answers no question of the bot's: it is no half turn, and it
    goes into the prompt even when it opens the conversation (a user whose first words asked
    for a person). An answer's tool calls and results (`exchanges`) go with it."""
    entries = [entry for entry in window if entry.id < question_id]
    dropped = (bool(entries) and entries[0].role is MessageRole.ASSISTANT
               and entries[0].author_name is None)
    kept = entries[1:] if dropped else entries
    return [_item(entry, exchanges) for entry in kept], dropped


def _item(
    entry: HistoryEntry, exchanges: Mapping[int, tuple[ChatMessage, ...]] | None
) -> HistoryItem:
    role = Role.USER if entry.role is MessageRole.USER else Role.ASSISTANT
    exchange = exchanges.get(entry.id, ()) if exchanges else ()
    return HistoryItem(role, entry.text, entry.token_count, entry.author_name, exchange)
