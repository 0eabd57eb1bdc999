"""Tools' series on /metrics: calls by tool and outcome, and their seconds by tool (names come
from TOOLS_FILE and code, capped like every label). Imported on the first call, through the
toolbox's observer (build.py)."""

from __future__ import annotations

from bot.plugin.metrics import counter, histogram

TOOL_CALLS = counter("fmbot_tool_calls", "Tool calls run, by tool and outcome (ok, error, "
                     "timeout)", "tool", "outcome")
TOOL_SECONDS = histogram(
    "fmbot_tool_call_seconds", "Seconds a tool call took, by tool", "tool",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
)


def tool_call(tool: str, outcome: str, seconds: float) -> None:
    """A call the toolbox ran (its ToolObserver); errors are the outcomes other than ok."""
    TOOL_CALLS.child(tool, outcome).inc()
    TOOL_SECONDS.child(tool).observe(seconds)
