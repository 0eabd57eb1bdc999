"""What the settings are read with: the error that names a variable, list and token parsing,
the default replica id and host:port values."""

from __future__ import annotations

import os
import re
import socket
from urllib.parse import urlsplit

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///fmbot.db"


class ConfigError(Exception):
    """A missing or contradictory setting; the message names the variable to set."""


def _split_ids(value: object) -> object:
    if not isinstance(value, str):
        return value
    ids = []
    for part in (p.strip() for p in value.replace(";", ",").split(",")):
        if not part:
            continue
        try:
            ids.append(int(part))
        except ValueError:
            # Usernames are what a newcomer tries first; they change hands and Telegram's
            # updates carry the numeric id, so only ids are accepted.
            raise ValueError(
                f"{part!r} is not a numeric Telegram id; list ids (numbers such as 123456789, "
                "comma-separated), not usernames: a user sees their id by writing to "
                "@userinfobot (and the bot logs the ids of users it refuses)"
            ) from None
    return ids


def _split_names(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# What @BotFather issues: the bot id, a colon, then the secret (letters, digits, _ and -).
_TOKEN_SHAPE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")


def _raise_all(problems: list[str]) -> None:
    """One ConfigError naming every problem found, a line each."""
    if problems:
        raise ConfigError("\n".join(problems))


def _default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _host_port(name: str, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ConfigError(f"{name} must be host:port, got {value!r}")
    return host or "0.0.0.0", number


def _blank_to(value: object, unset: object) -> object:
    """`unset` for an empty or blank string (`.env.example` copied as is leaves `NAME=`)."""
    return unset if isinstance(value, str) and not value.strip() else value


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _endpoint_problem(name: str, value: str, default: object) -> str | None:
    """A line naming `name` when its `value` cannot be a Yandex endpoint (None: it can)."""
    if not value or _is_http_url(value):
        return None
    fix = (f"leave it unset for Yandex's own ({default})" if default
           else "an https:// URL, or unset")
    return f"{name.upper()}: {value!r} cannot be a Yandex endpoint: {fix}"
