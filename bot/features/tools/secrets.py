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
