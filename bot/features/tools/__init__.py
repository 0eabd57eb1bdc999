"""Tools: what the model may call (the toolbox, HTTP actions, MCP servers, Python functions,
read from TOOLS_FILE and the App) and the tool loop that runs them in a turn (loop.py,
turns.py, decisions.py, turn.py). The toolbox knows nothing of Telegram; the conversation
core stores each call before it runs it.

The names below are imported on first use (PEP 562): the settings' section (settings.py),
which `from bot import Settings` loads, must not bring httpx and the toolbox with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.plugin.helpers import lazy_exports

_WHERE = {
    "ToolContext": "bot.extending.tools",
    "ToolDefinition": "bot.extending.tools",
    "ToolOutcome": "bot.extending.tools",
    "ToolRunResult": "bot.extending.tools",
    "load_toolbox": "bot.features.tools.loading",
    "start_toolbox": "bot.features.tools.loading",
    "Toolbox": "bot.features.tools.toolbox",
    "ToolsFileError": "bot.features.tools.toolsfile",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:
    from bot.features.tools.loading import load_toolbox, start_toolbox
    from bot.features.tools.toolbox import Toolbox
    from bot.features.tools.toolsfile import ToolsFileError
    from bot.plugin.extending import (
        ToolContext,
        ToolDefinition,
        ToolOutcome,
        ToolRunResult,
    )

__all__ = [
    "ToolContext",
    "ToolDefinition",
    "ToolOutcome",
    "ToolRunResult",
    "Toolbox",
    "ToolsFileError",
    "load_toolbox",
    "start_toolbox",
]
