"""The `Feature` object: one feature of the bot, declared in one place
(`bot/features/<name>/feature.py`'s `FEATURE`, a plugin's entry point): what it is, and its
one lifecycle (lifespan.py), which adds everything else; and the values its lifespan
declares (its checks, models, settings checks).

The bot holds one list of them (bot/features/installed.py, then the App's and its plugins'),
and one loop drives their lifespans (lifespan.py's `Lifespans`); every part of the bot reads
what they added from the one registry (registry.py). No module outside a feature reads a
feature by its name.

The list is imported by `fmbot --help`, which must stay light: a feature's module imports its
heavy parts inside its lifespan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import User

    from bot.config.composed import SettingsBase as Settings
    from bot.plugin.commands import Command, CommandContext
    from bot.plugin.lifespan import Lifespan
    from bot.plugin.outcome import Outcome

#: The commands that build a conversation (their turns ask the model).
TURN_COMMANDS = frozenset({"run", "chat", "record", "eval"})


@dataclass(frozen=True, slots=True)
class SettingsCheck:
    """A feature's check of its settings (raising ConfigError with a line per problem), run
    before any of `commands` starts anything (bot/wiring/preflight.py), and by `fmbot check`
    as `run` runs it."""

    commands: frozenset[str]
    check: Callable[[Settings], object]


@dataclass(frozen=True, slots=True)
class ModelUse:
    """A model a feature calls: the setting that names it, the name as set, and its kind
    (`"text"`, `"vision"`, `"image"`, `"embedding"`): `fmbot check` finds each in the folder's
    listing or probes it."""

    setting: str
    name: str
    kind: Literal["text", "vision", "image", "embedding"]


@dataclass(frozen=True, slots=True)
class FeatureCheck:
    """A feature's lines in `fmbot check`. `credentials`: it calls Yandex, so it runs once the
    credentials are known good (skipped, pointing at that check, when they are not); the
    others run beside the database's. `settings_only`: its line says what the settings ask
    for and calls nothing, so it is printed at once, with the configuration's. `local`: it
    reads only this machine (files), so its lines come last."""

    name: str
    """The check's name, as its lines say it."""
    run: Callable[[], Awaitable[list[Outcome]]]
    """The check: its lines."""
    credentials: bool = True
    """It calls Yandex: run once the credentials are known good."""
    settings_only: bool = False
    """It says what the settings ask for and calls nothing: printed with the configuration."""
    local: bool = False
    """It reads only this machine (files): its lines come last."""
    imports: Sequence[str] = ()
    """The modules it imports, imported before any check's timer starts (a timer measures
    an answer, never this process's imports)."""


@dataclass(frozen=True, slots=True)
class TelegramLine:
    """A feature's line in the Telegram check, read once getMe has accepted the token: off
    what getMe told (`me`), or asked of Telegram with `bot`."""

    name: str
    read: Callable[[Bot, User], Awaitable[Outcome]]


def _none() -> Sequence[Any]:
    return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Feature:
    """One feature of the bot: what it is (its name, settings section, tables, texts,
    migrations and `fmbot` commands), and its one lifecycle (`lifespan`: lifespan.py), which
    declares, registers and builds everything else it adds. Every field but `name` is
    optional; what the lifespan builds it imports when it builds it."""

    name: str
    """How the logs and errors name it."""
    settings: type | None = None
    """Its section of the settings (a pydantic model in its `settings.py`), composed into
    the bot's: validated, listed by `fmbot settings` and `.env.example`."""
    tables: Sequence[str] = ()
    """The modules whose import registers its tables on the shared metadata."""
    migrations: Sequence[tuple[str, Path]] = ()
    """A plugin's (or an App's) own Alembic branches, (name, folder) each: revision ids
    prefixed `<name>_`, the first with `down_revision = None` (and `depends_on` a revision of
    fmbot's it needs), upgraded with fmbot's in one `alembic_version`. fmbot's own features
    keep theirs in their folder's `migrations/` (a branch each, from fmbot's shared history,
    `migrations/versions`), found there."""
    texts: Sequence[str] = ()
    """The modules whose import registers its texts with the Translator."""
    commands: Callable[[], Sequence[Command[CommandContext]]] = _none
    """Its own `fmbot` commands. Declared here, not in the lifespan: `fmbot --help` lists
    them before any setting is read."""
    lifespan: Lifespan | None = None
    """What it declares, registers and builds, phase by phase, and what it does when the
    bot stops (lifespan.py)."""
