"""fmbot: Telegram chatbots powered by Yandex Cloud Foundation Models.

The public API is what this package exports (`__all__`); everything under `bot.*` is internal
and may change between versions. A developer's bot:

```python
from bot import App, ToolContext

app = App.from_env()

@app.context
async def customer_plan(ctx: ToolContext) -> str | None:
    return "The customer is on the Pro plan."
```

run with `python -m bot run --app mybot:app`.
"""

from __future__ import annotations

from bot.app import App, AppError
from bot.extending.events import (
    AnswerEvent,
    AnswerStatus,
    HandoffEvent,
    HandoffReason,
    RunContext,
    SourceInfo,
    ToolCallInfo,
    ToolCallOutcome,
)
from bot.extending.tools import (
    ToolContext,
    ToolDefinition,
    ToolOutcome,
    ToolRunResult,
    ToolSource,
)
from bot.features.settings import Settings
from bot.menu import MenuCommand
from bot.plugin.commands import Command, CommandContext, ReportSection
from bot.plugin.feature import Feature, FeatureCheck
from bot.plugin.outcome import Outcome
from bot.version import __version__

__all__ = [
    "AnswerEvent",
    "AnswerStatus",
    "App",
    "AppError",
    "Command",
    "CommandContext",
    "Feature",
    "FeatureCheck",
    "HandoffEvent",
    "HandoffReason",
    "MenuCommand",
    "Outcome",
    "ReportSection",
    "RunContext",
    "Settings",
    "SourceInfo",
    "ToolCallInfo",
    "ToolCallOutcome",
    "ToolContext",
    "ToolDefinition",
    "ToolOutcome",
    "ToolRunResult",
    "ToolSource",
    "__version__",
]
