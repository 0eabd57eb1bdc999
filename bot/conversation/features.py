"""`TurnFeature`: a feature's part in a turn, at the turn's fixed points.

A turn is the same pipeline for every chat (opening.py, running.py, finishing.py). What a
feature adds to it (documents sent in chat, the knowledge base, images for the vision
model, web search, tools, the App's context providers and hooks) is one `TurnFeature`: the
pipeline asks every feature of its list at each point, in the list's order, and names none
of them. Every hook is optional (the base class does nothing), so a feature overrides only
the points it takes part in:

- in the first unit of work: `opening` (before the placeholder answer is stored: a feature
  may pick the turn's model or rename the window's messages) and `opened` (after: the
  answer's id is known);
- before the model: `contributors` (what it adds to the prompt, contributors.py) and
  `prepare` (the model's options, and the draft once every contributor has written it);
- the model call: `client` (which client answers: the vision model for a turn with images)
  and `stream` (a feature that runs the stream itself: the tool loop);
- after the stream: `settle` (the answer's verdict; its sources and "not found" are the
  turn's `Grounded` slot, read back by the core's first step and shown by its last,
  grounding.py), `record` (its
  rows, in the transaction that stores the answer; it may run again if the database was away
  and the store is retried) and `finished` (once the answer is stored);
- answers a feature suspends, with a reason (`TurnState.suspended`; a feature with
  `suspends` set: the tool loop's calls waiting for a press), met by the service's use cases:
  `decline` (a new question declines what is suspended), `release` (/retry or a resume
  replaces the answer: what the new one carries on) and `resume` (the suspended answer goes
  on: `ConversationService.resume`).

A feature keeps what it learns about a turn in a slot of its own on the turn
(`turn.part(SomeState)`), not in a field of `TurnState` named after it; the slots go on to
the turn's result (`TurnResult.parts`), where the feature's part of the front end reads them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.contributors import PromptContributor, PromptDraft
from bot.conversation.turn import Question, TurnState, slot
from bot.conversation.types import ChatRef, ImageInput, Speaker, TurnResult
from bot.foundation_models.types import ChatMessage, ChatModel, CompletionOptions, Snapshot
from bot.storage.models import MessageStatus
from bot.storage.repositories import HistoryEntry

T = TypeVar("T")


@dataclass(slots=True)
class Opening:
    """A turn being opened (the first unit of work), as the features see it: they may change
    its `model` and `window` in `opening`, and read `answer_id` in `opened`."""

    session: AsyncSession
    chat: ChatRef
    speaker: Speaker
    question: Question
    model: str
    window: list[HistoryEntry]
    # The new question's images (a feature that shows them stores them in `opening`).
    question_images: tuple[ImageInput, ...] = ()
    carried: Sequence[int] = ()  # what the features' `release` carried on to this answer
    reopened: bool = False  # a suspended answer goes on (`resume`), it is not new
    answer_id: int = 0
    # The model-side exchanges stored with the window's answers, by answer id (a feature
    # that stores them reads them in `opened`): handed on to the turn (`TurnState.exchanges`).
    exchanges: dict[int, tuple[ChatMessage, ...]] = field(default_factory=dict)
    # The features' slots, handed on to the turn (`TurnState.part`).
    parts: dict[type, object] = field(default_factory=dict)

    def part(self, kind: type[T]) -> T:
        """The slot of `kind` (made on first use; `kind()` must take no arguments)."""
        return slot(self.parts, kind)

    @property
    def new_images(self) -> tuple[bytes, ...]:
        """The new question's images, as the model is shown them (JPEG)."""
        return tuple(image.jpeg for image in self.question_images)


@dataclass(slots=True)
class Verdict:
    """The answer as the features settle it: the text shown and stored, its status, and what
    the features note of it for the answer's log line ("grounded: 3 sources")."""

    text: str
    status: MessageStatus
    notes: list[str] = field(default_factory=list)


class TurnFeature:
    """A feature's part in a turn (see the module docstring); every hook is optional."""

    name: str = "feature"
    # It may suspend an answer (`TurnState.suspended`, stored `waiting`): the service then
    # asks it at `decline`, `release` and `resume`.
    suspends: bool = False

    def contributors(self) -> Sequence[PromptContributor]:
        """What it adds to the prompt, asked in the features' order."""
        return ()

    async def opening(self, opening: Opening) -> None:
        """Before the placeholder answer is stored (the session's transaction is open)."""

    async def opened(self, opening: Opening) -> None:
        """After the placeholder answer is stored, before the first unit of work commits."""

    async def prepare(
        self, turn: TurnState, options: CompletionOptions, draft: PromptDraft
    ) -> CompletionOptions:
        """The model's options for this turn; may add to the finished draft too."""
        return options

    def client(self, turn: TurnState) -> ChatModel | None:
        """The client that answers this turn instead of the chat's; None = no say."""
        return None

    def stream(
        self,
        turn: TurnState,
        messages: list[ChatMessage],
        options: CompletionOptions,
        client: ChatModel | None,
    ) -> AsyncGenerator[Snapshot, None] | None:
        """Run the turn's stream itself (`client`: the one chosen, None = the chat's); the
        first feature that does wins. None = the chosen client streams it."""
        return None

    async def settle(self, turn: TurnState, last: Snapshot | None, verdict: Verdict) -> None:
        """Read the finished stream; may change the verdict."""

    async def record(self, session: AsyncSession, turn: TurnState, verdict: Verdict) -> None:
        """Add its rows in the transaction that stores the answer (it may be retried)."""

    def finished(self, turn: TurnState, result: TurnResult) -> None:
        """The answer is stored (at once, or once the database is back)."""

    async def reset(self, session: AsyncSession, chat_id: int) -> None:
        """The chat's conversation is closed (/reset), in the transaction that closes it:
        forget what the feature keeps for it."""

    async def decline(self, session: AsyncSession, chat_id: int, user_id: int) -> None:
        """A new question of `user_id` in the chat, in the transaction that stores it: what
        it suspended there for them is declined (`suspends` features only)."""

    async def release(self, session: AsyncSession, answer_id: int, resume: bool) -> Sequence[int]:
        """The answer is about to be replaced (/retry; `resume`: a turn a crash cut short):
        what the new answer carries on (`Opening.carried`; `suspends` features only)."""
        return ()

    async def resume(self, session: AsyncSession, answer_id: int) -> Question | None:
        """A suspended answer goes on (the press came, or the wait expired): its question, or
        None when this feature does not hold it suspended (any more) (`suspends` features
        only)."""
        return None


class Contributing(TurnFeature):
    """Prompt contributors that are nothing else (a plugin's, or a test's)."""

    name = "contributors"

    def __init__(self, contributors: Sequence[PromptContributor]) -> None:
        self._contributors = tuple(contributors)

    def contributors(self) -> Sequence[PromptContributor]:
        return self._contributors

