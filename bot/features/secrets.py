"""The secret values the features read that the logs must never show (the command line's
factory hides them in every log line; it names no feature)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.features.settings import Settings


def feature_secrets(settings: Settings) -> list[str]:
    """The secret values the features read that the logs must never show: the `${VAR}`
    TOOLS_FILE uses (API tokens, MCP keys). Short ones (a language, a number) would blank
    out ordinary words, so only 8 characters and more."""
    path = settings.tools.file
    if path is None:
        return []
    from bot.features.tools.toolsfile import referenced_variables
    from bot.wiring import tool_environment

    environ = tool_environment()
    values = (environ.get(name, "") for name in referenced_variables(path))
    return [value for value in values if len(value) >= 8]
