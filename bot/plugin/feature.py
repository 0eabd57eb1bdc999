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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# What a lifespan declares, as values: named here too, where features have always found them.
from bot.plugin.declarations import (
    TURN_COMMANDS,
    FeatureCheck,
    ModelUse,
    SettingsCheck,
    TelegramLine,
)

if TYPE_CHECKING:
    from bot.plugin.commands import Command, CommandContext
    from bot.plugin.context import Lifespan

__all__ = ["TURN_COMMANDS", "Feature", "FeatureCheck", "ModelUse", "SettingsCheck",
           "TelegramLine"]

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
