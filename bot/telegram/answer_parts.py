"""What an answer is delivered to and how its failures read: the answerer's small parts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.conversation import ChatRef, ContentFilteredError, TurnResult
from bot.foundation_models.errors import (
    APITimeoutError,
    OperationTimeoutError,
    RateLimitError,
    ServiceUnavailableError,
)
from bot.foundation_models.types import Snapshot
from bot.telegram.texts import Translator

if TYPE_CHECKING:
    from bot.telegram.outbox import RichFinal, StreamHandle
    from bot.telegram.outbox.richfinal import RichFrames

Runner = Callable[[Callable[[Snapshot], None]], Awaitable[TurnResult | None]]


class AfterDelivery(Protocol):
    """What a feature does once an answer is delivered (the support desk's card and buttons,
    👍/👎, a voice reply). The Answerer asks each in order and names none of them."""

    # True: it runs beside the chat's queue (the next question need not wait for it).
    @property
    def background(self) -> bool: ...

    async def delivered(
        self, target: Target, result: TurnResult, ids: list[int], t: Translator
    ) -> None:
        """`ids`: the Telegram messages showing the answer (empty when nothing was shown)."""
        ...


class FinalForm(Protocol):
    """Another form a feature may give a finished answer than its rendered text (a rich
    message: a table that arrives as a table). The Answerer asks each in order, names none of
    them, and delivers the first form given; the text stays the fallback (richfinal.py)."""

    def final(self, chat_id: int, markdown: str) -> RichFinal | None:
        """The answer's final Markdown in this form, or None: delivered as text."""
        ...

    def frames(self, chat_id: int) -> RichFrames | None:
        """How the drafts of an answer in this chat may show a frame in this form (None:
        as text drafts)."""
        ...


class StreamNote(Protocol):
    """A line a feature shows under an answer's text while it streams (the tool loop's: the
    calls running). The Answerer asks each, for every snapshot, and names none of them."""

    def note(self, snapshot: Snapshot, t: Translator) -> str | None:
        """The line under the text for this snapshot; None: nothing to add."""
        ...


class Suspension(Protocol):
    """How a feature's part of the front end shows an answer it suspended (stored
    `waiting`, `TurnResult.suspended` its `reason`): the tool loop's cards waiting for a
    press. It reads what it needs from its own part of the result (`TurnResult.parts`)."""

    @property
    def reason(self) -> str:
        """The reason its feature suspends answers for (`TurnState.suspended`)."""
        ...

    async def ask(
        self, target: Target, handle: StreamHandle, result: TurnResult, t: Translator
    ) -> list[int]:
        """Show what the suspended answer waits for: the Telegram messages showing it."""
        ...


@dataclass(frozen=True, slots=True)
class Asked:
    """Who asked, in which language, by which message, and whether by voice: what a feature
    giving the answer another form reads (the voice feature speaks it, bot/features/voice)."""

    user_id: int
    language: str | None
    question_id: int
    spoken: bool = False


@dataclass(frozen=True, slots=True)
class Target:
    """Where an answer goes."""

    chat: ChatRef
    reply_to: int | None = None
    thread_id: int | None = None
    asked: Asked | None = None  # who asked and how (a spoken answer reads it)

    @property
    def private(self) -> bool:
        return self.chat.type == "private"


def describe_error(error: Exception, t: Translator) -> str:
    if isinstance(error, ContentFilteredError):
        return t("error_refused")
    if isinstance(error, RateLimitError | ServiceUnavailableError):
        return t("error_quota")
    if isinstance(error, APITimeoutError | OperationTimeoutError | TimeoutError):
        return t("error_timeout")
    return t("error_generic")


def join_note(text: str, note: str) -> str:
    """The answer with a note below it (or the note alone when the answer is empty)."""
    return f"{text.rstrip()}\n\n{note}" if text.strip() else note
