"""What an App adds around a turn, as values: a context provider with the name the log and
the stored turn know it by, the type of the `on_startup` / `on_shutdown` hooks, and the name a
function is logged by. The public App (bot/app) holds them; the extensions feature
(bot/features/extensions) runs them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.extending.events import AnswerEvent, HandoffEvent, RunContext
from bot.extending.tools import ToolContext, ToolSource

ContextFunction = Callable[[ToolContext], Awaitable[str | None]]
LifecycleHook = Callable[[], Awaitable[None]] | Callable[[RunContext], Awaitable[None]]
AnswerHook = Callable[[AnswerEvent], Awaitable[None]]
HandoffHook = Callable[[HandoffEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NamedProvider:
    """A context provider and the name the log and the stored turn know it by."""

    name: str
    function: ContextFunction


def name_of(function: Callable[..., Any]) -> str:
    """A function's dotted name (`module.qualname`), as the log and errors name it."""
    module = getattr(function, "__module__", None) or "?"
    return f"{module}.{getattr(function, '__qualname__', repr(function))}"


class AppHolds(Protocol):
    """What the features registered around a turn, for the features that run it
    (bot/plugin/setup.py: the `Registry` of every feature, or one feature's `Registrations`):
    tool sources, context providers and hooks, in the order they were registered."""

    @property
    def tool_sources(self) -> Sequence[ToolSource]: ...

    @property
    def providers(self) -> Sequence[NamedProvider]: ...

    @property
    def answer_hooks(self) -> Sequence[AnswerHook]: ...

    @property
    def handoff_hooks(self) -> Sequence[HandoffHook]: ...

    @property
    def startup_hooks(self) -> Sequence[LifecycleHook]: ...

    @property
    def shutdown_hooks(self) -> Sequence[LifecycleHook]: ...
