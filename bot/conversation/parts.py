"""What a turn's steps share: the service's collaborators and settings, the features and
the prompt contributors they add up to (in the order they are asked)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.contributors import PromptContributor
from bot.conversation.features import TurnFeature
from bot.conversation.tokens import TokenCounter
from bot.conversation.turn import TurnState
from bot.foundation_models.types import ChatModel, CompletionOptions
from bot.prompting import MIN_AVAILABLE, context_size_for
from bot.storage.models import MessageStatus


@dataclass(slots=True, kw_only=True)
class TurnParts:
    """The collaborators of every turn, and the features that take part in it (in order)."""

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
    # The features, the core's grounding steps first and last (grounding.py).
    features: tuple[TurnFeature, ...] = ()
    # Several replicas: answers are stored `delivery_pending` until the front end says they
    # were delivered, so a replica dying in between is noticed.
    track_delivery: bool = False
    wire: str = ""  # the chat model's API (TEXT_API), as the answers' traces name it
    # The turn streaming in each chat (turns of a chat run one at a time).
    streaming: dict[int, TurnState] = field(default_factory=dict)
    # Answers that ended while the database was away, being stored when it is back (per
    # chat): the chat's next turn reads its history after them (finishing.py).
    saving: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    # Every feature's prompt contributors, in the features' order.
    contributors: tuple[PromptContributor, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.contributors = tuple(c for f in self.features for c in f.contributors())

    def room(self, model: str) -> int:
        """Tokens for the prompt: the context minus the reply reserve. A chat's model with a
        context too small for the configured reserve gets a smaller reserve, not an error."""
        context = context_size_for(model, self.overrides)
        return max(context - self.reply_reserve, min(MIN_AVAILABLE, context))
