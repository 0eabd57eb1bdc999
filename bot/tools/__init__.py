"""What the model may call: the toolbox, HTTP actions, MCP servers, Python functions.

Knows nothing of Telegram; the conversation core stores each call before it runs it.
"""

from bot.tools.base import ToolContext, ToolDefinition, ToolOutcome, ToolRunResult, ToolSource
from bot.tools.loading import load_toolbox, start_toolbox
from bot.tools.toolbox import Toolbox, ToolNameClashError
from bot.tools.toolsfile import ToolsFileError

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
