"""What a feature's lifespan declares, as values (lifespan.py, `FeatureContext`): a check of
its settings, a line of `fmbot check` and of its Telegram check, a model it calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import User

    from bot.config.composed import SettingsBase as Settings
    from bot.plugin.outcome import Outcome

__all__ = ["TURN_COMMANDS", "FeatureCheck", "ModelUse", "SettingsCheck", "TelegramLine"]

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
