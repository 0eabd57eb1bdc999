"""Tools: what the model may call (the toolbox, HTTP actions, MCP servers, Python functions,
read from TOOLS_FILE and the App) and the tool loop that runs them in a turn (loop.py,
turns.py, feature.py). The toolbox knows nothing of Telegram; the conversation core stores
each call before it runs it."""


from bot.extending.tools import (
    ToolContext,
    ToolDefinition,
    ToolOutcome,
    ToolRunResult,
    ToolSource,
)
from bot.features.tools.loading import load_toolbox, start_toolbox
from bot.features.tools.toolbox import Toolbox, ToolNameClashError
from bot.features.tools.toolsfile import ToolsFileError

__all__ = [
    "ToolContext",
    "ToolDefinition",
    "ToolNameClashError",
    "ToolOutcome",
    "ToolRunResult",
    "ToolSource",
    "Toolbox",
    "ToolsFileError",
    "load_toolbox",
    "start_toolbox",
]
