"""The tools file's secrets kept out of what an API or MCP server answers.

An API may echo the request in an error body (`{"error": "bad token", "headers": {...}}`):
the `Authorization` value, a key in the URL's query. What a tool returns goes to the model,
the database and the support desk's card, so every text a source returns is scrubbed first of
the secrets the file gave it: header values (and the token in `Bearer <token>`), the URL's
query values and password, an MCP server's `env` values; as written, percent-encoded and
JSON-escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

REDACTED = "[redacted]"
# Shorter values are not treated as secrets ("1", "json", "ru" would be scrubbed everywhere).
MIN_SECRET = 6


class SecretScrubber:
    """Replaces each of `secrets` (in its usual encodings) with [redacted]."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) < MIN_SECRET:
                continue
            forms.update({secret, quote(secret, safe=""), json.dumps(secret)[1:-1]})
        ordered = sorted(forms, key=len, reverse=True)  # the longest form first
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED, text)


def header_secrets(headers: Mapping[str, str]) -> list[str]:
    """Each header's value, and each long word of it (the token of `Bearer <token>`)."""
    found = []
    for value in headers.values():
        found.append(value)
        found.extend(part for part in value.split() if len(part) >= MIN_SECRET)
    return found


def url_secrets(url: str | None) -> list[str]:
    """The URL's query values and its password."""
    if not url:
        return []
    parts = urlsplit(url)
    found = [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    if parts.password:
        found.append(parts.password)
    return found


# Header values that say how, not who: scrubbing "application/json" from every log line
# would hide what the log is for, and none of them authenticates anyone.
_PLAIN_HEADERS = frozenset({"accept", "accept-language", "content-type", "user-agent"})


def file_secrets(path: Path | None) -> list[str]:
    """The secret values the tools file at `path` makes the bot read, which the logs must
    never show: the `${VAR}` it uses (API tokens, MCP keys) and what it writes literally where
    a secret goes (header values, a URL's query values and password, an MCP server's `env`).
    Short ones (a language, a number) would blank out ordinary words, so only 8 characters
    and more."""
    if path is None:
        return []
    from bot.features.tools.toolsfile import referenced_variables
    from bot.plugin.ground import tool_environment

    environ = tool_environment()
    values = [environ.get(name, "") for name in referenced_variables(path)]
    values += _written_secrets(path, environ)
    return list(dict.fromkeys(value for value in values if len(value) >= 8))


def _written_secrets(path: Path, environ: Mapping[str, str]) -> list[str]:
    """The file's values where a secret goes, as the tools will send them (`${VAR}`
    expanded); none when the file does not read (the start refuses it anyway)."""
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
