"""What a developer's `App` or a plugin adds to a turn: context providers and hooks, run so
that one that raises or hangs never breaks the turn (runner.py), and the events hooks get
(events.py), and their part in a turn (turn.py). The runner knows nothing of Telegram, the
database or the configuration."""

from __future__ import annotations

from bot.features.extensions.runner import ContextFragment, ExtensionRunner, NamedProvider
from bot.plugin.extending import AnswerEvent, HandoffEvent, SourceInfo, ToolCallInfo

__all__ = [
    "AnswerEvent",
    "ContextFragment",
    "ExtensionRunner",
    "HandoffEvent",
    "NamedProvider",
    "SourceInfo",
    "ToolCallInfo",
]
