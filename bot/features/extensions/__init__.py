"""What a developer's `App` or a plugin adds to a turn: context providers and hooks, run so
that one that raises or hangs never breaks the turn (runner.py), and the events hooks get
(events.py), and their part in a turn (turn.py). The runner knows nothing of Telegram, the
database or the configuration."""

from __future__ import annotations

from bot.features.extensions.runner import ExtensionRunner
from bot.plugin.extending import AnswerEvent, SourceInfo, ToolCallInfo

__all__ = [
    "AnswerEvent",
    "ExtensionRunner",
    "SourceInfo",
    "ToolCallInfo",
]
