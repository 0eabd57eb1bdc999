"""The secret values the features read that the logs must never show (the command line's
factory hides them in every log line; it names no feature)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.features.settings import Settings

# Header values that say how, not who: scrubbing "application/json" from every log line
# would hide what the log is for, and none of them authenticates anyone.
_PLAIN_HEADERS = frozenset({"accept", "accept-language", "content-type", "user-agent"})


def feature_secrets(settings: Settings) -> list[str]:
    """The secret values the features read that the logs must never show: the `${VAR}`
    TOOLS_FILE uses (API tokens, MCP keys) and what the file writes literally where a secret
    goes (header values, a URL's query values and password, an MCP server's `env`). Short
    ones (a language, a number) would blank out ordinary words, so only 8 characters and
    more."""
    path = settings.tools.file
    if path is None:
        return []
    from bot.features.tools.toolsfile import referenced_variables
    from bot.wiring import tool_environment

    environ = tool_environment()
    values = [environ.get(name, "") for name in referenced_variables(path)]
    values += _written_secrets(path, environ)
    return list(dict.fromkeys(value for value in values if len(value) >= 8))


def _written_secrets(path: Path, environ: Mapping[str, str]) -> list[str]:
    """The file's values where a secret goes, as the tools will send them (`${VAR}`
    expanded); none when the file does not read (the start refuses it anyway)."""
    from bot.features.tools.secrets import header_secrets, url_secrets
    from bot.features.tools.toolsfile import ToolsFileError, read_tools_file

    try:
        parsed = read_tools_file(path, environ)
    except ToolsFileError:
        return []
    found: list[str] = []
    for headers, url in [*((a.headers, a.url) for a in parsed.http),
                         *((s.headers, s.url) for s in parsed.mcp.values())]:
        secret_headers = {k: v for k, v in headers.items() if k.lower() not in _PLAIN_HEADERS}
        found += header_secrets(secret_headers) + url_secrets(url)
    for server in parsed.mcp.values():
        found += server.env.values()
    return found
