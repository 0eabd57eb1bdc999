"""What a turn's steps share: the service's collaborators and settings, and the prompt
contributors they add up to (in the order they are asked)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast, overload

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.builtin_contributors import (
    DocumentsContributor,
    ImagesContributor,
    KnowledgeContributor,
)
from bot.conversation.context import AppContext
from bot.conversation.contributors import PromptContributor
from bot.conversation.documents import ChatDocuments
from bot.conversation.tokens import TokenCounter
from bot.conversation.turn import TurnState
from bot.conversation.vision import SeenImages, Vision
from bot.foundation_models.types import ChatModel, CompletionOptions
from bot.prompting import MIN_AVAILABLE, context_size_for
from bot.storage.models import MessageStatus

if TYPE_CHECKING:
    from bot.conversation.hosted import HostedSearch
    from bot.conversation.tools_loop import ToolLoop
    from bot.extensions import ExtensionRunner
    from bot.knowledge.base import KnowledgeBase


@dataclass(slots=True, kw_only=True)
class TurnParts:
    """The collaborators of every turn. `None` = the feature is off."""

    sessionmaker: async_sessionmaker[AsyncSession]
    model: ChatModel
    default_model: str
    default_system_prompt: str
    reply_reserve: int
    options: CompletionOptions
    overrides: dict[str, int]
    statuses: frozenset[MessageStatus]
    tokens: TokenCounter
    today: Callable[[], dt.date]
    knowledge: KnowledgeBase | None = None
    tools: ToolLoop | None = None
    vision: Vision | None = None
    documents: ChatDocuments | None = None
    extras: ExtensionRunner | None = None
    hosted: HostedSearch | None = None  # web and file search on the Responses API
    # Contributors beyond the built-in ones, asked after the knowledge base, before images.
    contributors: tuple[PromptContributor, ...] = ()
    # Shown (and stored) below a "not found" answer: KB_NOT_FOUND_CONTACT without a desk.
    not_found_next_step: str = ""
    # Several replicas: answers are stored `delivery_pending` until the front end says they
    # were delivered, so a replica dying in between is noticed.
    track_delivery: bool = False
    # The turn streaming in each chat (turns of a chat run one at a time).
    streaming: dict[int, TurnState] = field(default_factory=dict)
    # Answers that ended while the database was away, being stored when it is back (per
    # chat): the chat's next turn reads its history after them (finishing.py).
    saving: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    # Which conversations were lately seen without images (their text turns skip the query).
    seen_images: SeenImages = field(default_factory=SeenImages)

    def room(self, model: str) -> int:
        """Tokens for the prompt: the context minus the reply reserve. A chat's model with a
        context too small for the configured reserve gets a smaller reserve, not an error."""
        context = context_size_for(model, self.overrides)
        return max(context - self.reply_reserve, min(MIN_AVAILABLE, context))

    def prompt_contributors(self) -> list[PromptContributor]:
        """In the order they are asked: the App's context providers, the chat's documents,
        the knowledge base (skipped when the documents answer), the added ones, images."""
        chosen: list[PromptContributor] = []
        if self.extras is not None and self.extras.providers:
            chosen.append(AppContext(self.extras))
        if self.documents is not None:
            chosen.append(DocumentsContributor(self.documents))
        if self.knowledge is not None:
            chosen.append(KnowledgeContributor(self.knowledge))
        chosen.extend(self.contributors)
        if self.vision is not None:
            chosen.append(ImagesContributor(self.vision))
        return chosen


T = TypeVar("T")


class _HasParts(Protocol):
    _parts: TurnParts


class Shared(Generic[T]):
    """An attribute of the service that is the same-named field of its `TurnParts`, so that
    the front end reads (and the wiring completes) one place the steps read too."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Shared[T]: ...
    @overload
    def __get__(self, obj: _HasParts, owner: type) -> T: ...
    def __get__(self, obj: _HasParts | None, owner: type) -> Shared[T] | T:
        if obj is None:
            return self
        return cast(T, getattr(obj._parts, self._name))

    def __set__(self, obj: _HasParts, value: T) -> None:
        setattr(obj._parts, self._name, value)
