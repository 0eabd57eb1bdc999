"""Logging setup: text or JSON lines on stderr, with secrets scrubbed from every record.

Secrets (the bot token, API keys, the webhook secret, the database password, the tools file's)
are registered at start and replaced by `***` in the final formatted line, whatever logged
them: our code, aiogram, httpx or aiohttp. Each is matched as written, JSON-escaped (a JSON log
line, a request body in an error) and percent-encoded (a URL, a form body), because a library
prints whichever form it held. Bot tokens are also recognised by shape, so a token from a URL
in a traceback cannot leak.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import quote, quote_plus

# "123456789:AA..." as BotFather issues them (also inside ".../bot<token>/getMe").
_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
# Attributes every LogRecord has; anything else was passed with `extra=` and is worth keeping.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class Scrubber:
    """Replaces known secret values and bot-token-shaped strings with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Every configured secret is scrubbed, whatever its length. A short one (under
        # SHORT characters: "1", "abc") is replaced only as a whole token, not next to a letter
        # or a digit: scrubbed wherever it stands alone (`key=abc`, `"abc"`, `/abc/`,
        # `x_abc`) without turning every word that contains it into `***`. A
        # single-digit secret still blanks standalone numbers equal to it: a garbled line is
        # the safe failure, a leaked secret is not.
        for secret in secrets:
            if secret:
                self._forms.update(_printed_forms(secret))
        # One pattern, the longest form first: a secret that contains another is replaced
        # whole, never leaving its tail behind.
        ordered = sorted(self._forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(_form_pattern, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub("***", text)
        return _BOT_TOKEN.sub("***", text)


# Secrets shorter than this are matched as whole tokens only (Scrubber.add).
SHORT = 6


def _form_pattern(form: str) -> str:
    if len(form) >= SHORT:
        return re.escape(form)
    return rf"(?<![^\W_]){re.escape(form)}(?![^\W_])"


def _printed_forms(secret: str) -> set[str]:
    """`secret` as a log can print it: raw, JSON-escaped (with and without `ensure_ascii`),
    percent-encoded (path or query, `+` for spaces in a form body)."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),  # a URL path keeps its slashes
        quote_plus(secret),
    }


class ScrubbingTextFormatter(logging.Formatter):
    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__(TEXT_FORMAT)
        self.scrub = scrubber

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        return self.scrub(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, extras, exception."""

    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__()
        self.scrub = scrubber

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            payload.setdefault(key, value if isinstance(value, int | float | bool) else str(value))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        # Each value before it is encoded: a message that already holds a JSON-escaped secret
        # (a request body) is escaped once more by the line itself, a form no list can hold.
        scrubbed = {k: self.scrub(v) if isinstance(v, str) else v for k, v in payload.items()}
        return self.scrub(json.dumps(scrubbed, ensure_ascii=False))


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


def setup_logging(
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> Scrubber:
    """Configure the root logger once for the process; returns the scrubber in use."""
    scrubber = Scrubber(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter: logging.Formatter = (
        JsonFormatter(scrubber) if fmt == "json" else ScrubbingTextFormatter(scrubber)
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Per-request lines from the HTTP libraries drown the bot's own log at INFO.
    # httpx2 and mcp: the MCP client's HTTP stack and SDK (fmbot[mcp]) log every request.
    # Alembic's "Context impl SQLiteImpl." on every command says nothing to an operator
    # (`migrate` logs the revision it reached).
    for noisy in ("httpx", "httpcore", "aiohttp.access", "alembic", "httpx2", "mcp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return scrubber
