"""What features offer each other, and the composition root, through `Built`, by these API
types rather than by their own: a feature that needs one finds it without importing the
feature that offers it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.extending.events import HandoffEvent, RunContext


@dataclass(frozen=True, slots=True)
class PersonState:
    """The state of a user's newest conversation with a person (the support desk's case:
    "open", "closed", ...; None when there is none), as tools and the App's context
    providers see it (`ToolContext.desk_state`)."""

    read: Callable[[int], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class HandoffListener:
    """Told of each handoff to a person (the App's `on_handoff` hooks)."""

    told: Callable[[HandoffEvent], None]


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Run once the whole bot is built (`"on_startup"`) and when it stops (`"on_shutdown"`):
    the App's lifecycle hooks."""

    run: Callable[[str, RunContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ImageCost:
    """What one image costs in the model's context, in tokens (the vision model's)."""

    tokens: int
