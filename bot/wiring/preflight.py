"""What each command validates in its settings before it starts anything: one function, used
by the commands themselves (`cli`) and by `fmbot check`, so `check` passes exactly what `run`
accepts.

Every step runs, whatever the others found: a deployment missing three settings is told all
three at once, not one per try.

The features' checks and secrets are those of the bot's whole feature list (fmbot's and the
plugins', `features_of` in bot/wiring/core.py): a plugin's settings are checked, and its
secrets hidden, by the same loop as fmbot's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from bot.config import ConfigError
from bot.config.wire import check_wire
from bot.features.settings import Settings

if TYPE_CHECKING:
    from bot.plugin.feature import Feature

# What each command needs (`check` validates as `run` does).
_STEPS: dict[str, tuple[str, ...]] = {
    "run": ("database", "telegram", "yandex", "yandex_key", "replicas", "metrics", "webhook",
            "prompt", "wire"),
    "chat": ("database", "yandex", "yandex_key", "prompt", "wire"),
    "record": ("database", "yandex", "yandex_key", "prompt", "wire"),
    # The deployment's bot as `run` builds it, on a database and a Telegram of its own.
    "eval": ("yandex", "yandex_key", "prompt", "wire"),
    "report": ("database", "replicas", "metrics"),
    "kb": ("database", "yandex", "yandex_key"),
    "migrate": ("database",),
    "insights": ("database",),
}


def problems(settings: Settings, command: str, features: Sequence[Feature]) -> list[str]:
    """Every problem `command` would refuse to start with, one line each (empty: it starts);
    `features`: the bot's (`features_of`)."""
    steps: dict[str, Callable[[], object]] = {
        "database": lambda: check_database_url(settings.database_url),
        "telegram": settings.check_telegram,
        "yandex": settings.check_yandex,
        "yandex_key": lambda: check_key_file(settings.yandex_sa_key_file),
        "replicas": settings.check_replicas,
        "metrics": lambda: settings.metrics_listen and settings.metrics_host_port,
        "webhook": lambda: settings.telegram_mode == "webhook" and settings.webhook_host_port,
        "prompt": settings.resolved_system_prompt,
        "wire": lambda: check_wire(settings),
    }
    found = _lines_of([steps[name] for name in _STEPS.get(command, ())])
    return found + [line for line in feature_problems(settings, command, features)
                    if line not in found]


def feature_problems(settings: Settings, command: str, features: Sequence[Feature]) -> list[str]:
    """What `features`' checks of their sections refuse before `command`, a line each (a
    feature whose declaration fails: its line)."""
    from bot.plugin.lifespan import declared

    try:
        registry = declared(features, settings)
    except ConfigError as exc:
        return str(exc).splitlines()
    return _lines_of([partial(check.check, settings) for check in registry.settings_checks
                      if command in check.commands])


def _lines_of(checks: list[Callable[[], object]]) -> list[str]:
    """Every check run, whatever the others found; the lines of what they raised."""
    found: list[str] = []
    for check in checks:
        try:
            check()
        except ConfigError as exc:
            found += [line for line in str(exc).splitlines() if line not in found]
    return found


def validate(settings: Settings, command: str, features: Sequence[Feature]) -> None:
    """Raise one ConfigError naming every problem (one per line)."""
    found = problems(settings, command, features)
    if found:
        raise ConfigError("\n".join(found))


def validate_features(settings: Settings, command: str, features: Sequence[Feature]) -> None:
    """`validate` for features added once the rest was validated (the plugins, set up after
    fmbot's settings were found complete): one ConfigError naming every problem."""
    found = feature_problems(settings, command, features)
    if found:
        raise ConfigError("\n".join(found))


def check_database_url(url: str) -> None:
    """DATABASE_URL must parse, name an async driver, and (SQLite) lie in an existing folder."""
    example = "sqlite+aiosqlite:///fmbot.db or postgresql+asyncpg://user:pass@host/db"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        # The line lands in a terminal, a log, an issue: never with the password in it.
        raise ConfigError(f"DATABASE_URL: cannot read {password_hidden(url)!r} as a database "
                          f"URL (expected e.g. {example})") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(f"DATABASE_URL: unsupported database {backend!r} (expected e.g. "
                          f"{example})")
    if backend == "sqlite" and parsed.drivername not in ("sqlite", "sqlite+aiosqlite"):
        raise ConfigError(f"DATABASE_URL: driver {parsed.drivername!r} is not asynchronous; "
                          "use sqlite+aiosqlite:///...")
    if backend != "sqlite" and parsed.drivername not in ("postgres", "postgresql",
                                                         "postgresql+asyncpg"):
        try:
            is_async = bool(parsed.get_dialect().is_async)
        except NoSuchModuleError:
            is_async = False
        if not is_async:
            raise ConfigError(f"DATABASE_URL: driver {parsed.drivername!r} is not "
                              "asynchronous; use postgresql+asyncpg://...")
    database = parsed.database or ""
    if backend == "sqlite" and database not in ("", ":memory:") and not database.startswith(
        "file:"
    ):
        folder = Path(database).parent  # SQLite does not expand ~
        if not folder.is_dir():
            raise ConfigError(f"DATABASE_URL: the folder {str(folder)!r} of the SQLite file "
                              "does not exist; create it or point DATABASE_URL elsewhere")


def database_password(url: str) -> str | None:
    """DATABASE_URL's password, for the log scrubber: read as SQLAlchemy reads it, or, from a
    URL it cannot read, what stands where a password would."""
    try:
        return make_url(url).password or None
    except (ArgumentError, ValueError):
        return _password_span(url)


def password_hidden(url: str) -> str:
    """`url` with whatever stands where a password would replaced by ***, even when the URL
    is malformed (`postgresql+asyncpg//user:pw@host/db`, `user:pw@host/db`)."""
    password = _password_span(url)
    if password is None:
        return url
    head, _, tail = url.rpartition("@")
    return f"{head[:len(head) - len(password)]}***@{tail}"


def _password_span(url: str) -> str | None:
    # user:password@host: everything between the user's colon and the last @ (a password
    # may hold an unencoded @ or :, the user name may not hold a colon).
    head, at, _ = url.rpartition("@")
    if not at:
        return None
    start = head.find("://")
    start = start + 3 if start >= 0 else 0
    colon = head.find(":", start)
    return (head[colon + 1:] or None) if colon >= 0 else None


def check_key_file(path: Path | None) -> None:
    """YANDEX_SA_KEY_FILE must be an authorized key JSON, read as the client reads it."""
    if path is None or not path.is_file():
        return  # not set, or missing (check_yandex names it)
    from bot.foundation_models.auth import ServiceAccountKeyAuth
    from bot.foundation_models.errors import FoundationModelsError

    try:
        ServiceAccountKeyAuth.from_file(path)
    except FoundationModelsError as exc:
        raise ConfigError(f"YANDEX_SA_KEY_FILE: {exc}; expected the authorized key JSON "
                          "(id, service_account_id, private_key) that `yc iam key create` "
                          "writes") from None


def secrets_of(settings: Settings, features: Sequence[Feature]) -> list[str]:
    """Values the log scrubber (and /readyz) must never let through; `features`: the bot's."""
    values = [
        settings.yandex_api_key,
        settings.yandex_iam_token,
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
    ]
    found = [v.get_secret_value() for v in values if v is not None]
    redis_password = urlsplit(settings.redis_url).password if settings.redis_url else None
    # A driver's error can carry the DSN it was given (asyncpg, a traceback's locals).
    passwords = [p for p in (redis_password, database_password(settings.database_url)) if p]
    # The values the features read (the tools file's tokens and keys); a feature whose
    # declaration fails stops the start, saying why, before any of its values is read.
    from bot.plugin.lifespan import declared

    try:
        declared_secrets = list(declared(features, settings).secrets)
    except ConfigError:
        declared_secrets = []
    return found + passwords + declared_secrets
