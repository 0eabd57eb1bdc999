"""`bot.plugin.extending`: the extension API a feature shares with the developer's App: tools
(`ToolSource`, `ToolDefinition`, `ToolContext`, ...), the hooks' events (`AnswerEvent`,
`HandoffEvent`, ...) and what an App adds around a turn (`NamedProvider`, `LifecycleHook`).
Value types and protocols: imports nothing heavy."""

from __future__ import annotations

from bot.extending.events import (
    AnswerEvent,
    HandoffEvent,
    RunContext,
    SourceInfo,
    ToolCallInfo,
    answer_status,
    handoff_reason,
    tool_call_outcome,
)
from bot.extending.hooks import AppHolds, LifecycleHook, NamedProvider, name_of
from bot.extending.tools import (
    NAME_PATTERN,
    NAME_RULE,
    DeclaresTools,
    ToolContext,
    ToolDefinition,
    ToolOutcome,
    ToolRunResult,
    ToolSource,
    approvers_of,
)

__all__ = [
    "NAME_PATTERN",
    "NAME_RULE",
    "AnswerEvent",
    "AppHolds",
    "DeclaresTools",
    "HandoffEvent",
    "LifecycleHook",
    "NamedProvider",
    "RunContext",
    "SourceInfo",
    "ToolCallInfo",
    "ToolContext",
    "ToolDefinition",
    "ToolOutcome",
    "ToolRunResult",
    "ToolSource",
    "answer_status",
    "approvers_of",
    "handoff_reason",
    "name_of",
    "tool_call_outcome",
]
