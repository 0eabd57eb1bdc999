"""The `Feature` object: everything fmbot needs from one feature, declared in one place
(`bot/features/<name>/feature.py`'s `FEATURE`), and what the bot gives a feature's build
(`Built`, where the features' parts are found by type).

The bot holds one list of them (bot/features/installed.py, plus the plugins'), and each place
that needs the features loops over that list: the settings' checks, the tables, the commands,
`fmbot check` and `fmbot report`, the secrets the logs hide, the build of the shared core (the
turn's features, in the list's order) and of the Telegram front (routers, hooks, services).
No module outside a feature reads a feature by its name.

Every field but `name` is optional, and every callable imports the feature's heavy parts only
when called: the list is imported by `fmbot --help`, which must stay light.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bot.plugin.built import Built

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import User

    from bot.config.composed import SettingsBase as Settings
    from bot.conversation.features import TurnFeature
    from bot.plugin.commands import Command, CommandContext, ReportPart
    from bot.plugin.ground import Groundwork, Preparing, TelegramGround
    from bot.plugin.outcome import Outcome
    from bot.plugin.setup import FeatureSetup
    from bot.telegram.answer_parts import FinalForm
    from bot.telegram.featureparts import TelegramFeature

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


@dataclass(frozen=True, slots=True)
class CoreParts:
    """What a feature builds on the shared core: its part in a turn (`turn`, in the order
    the features are listed; `last`: asked after every feature's `turn` parts, as the
    grounding's "not found" text is), and `idle`: what the bot waits for before it is idle
    (work a hook started, in process: `BuiltBot.settle`). Services others find go to
    `Built`."""

    turn: Sequence[TurnFeature] = ()
    last: Sequence[TurnFeature] = ()
    idle: Sequence[Callable[[], Awaitable[None]]] = ()


@dataclass(frozen=True, slots=True)
class TelegramParts:
    """What a feature builds on the Telegram front: its part (routers, hooks, services:
    bot/telegram/featureparts.py) and how an answer's final form is made (`final_forms`)."""

    part: TelegramFeature | None = None
    final_forms: Sequence[FinalForm] = ()


def _none(*_args: Any) -> Sequence[Any]:
    return ()


async def _nothing(*_args: Any) -> None:
    return None


def _no_part(*_args: Any) -> TelegramParts | None:
    return None


def _unprepared(*_args: Any) -> None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Feature:
    """One feature of the bot, declared once: what the bot needs from it, each field read by
    the one place that needs it (docs/architecture.md, "A feature is one object"). Every
    field but `name` is optional; every callable imports the feature's heavy parts only when
    called."""

    name: str
    """How the logs and errors name it."""
    settings: type | None = None
    """Its section of the settings (a pydantic model in its `settings.py`)."""
    tables: Sequence[str] = ()
    """The modules whose import registers its tables on the shared metadata."""
    migrations: Sequence[tuple[str, Path]] = ()
    """Its own Alembic branches, (name, folder) each: revision ids prefixed `<name>_`, the
    first with `down_revision = None`, upgraded with fmbot's history in one `alembic_version`
    (the revisions before 0027 are fmbot's shared history, `migrations/versions`)."""
    texts: Sequence[str] = ()
    """The modules whose import registers its texts with the Translator."""
    settings_checks: Sequence[SettingsCheck] = ()
    """Its checks of its settings, each run before the commands it names."""
    commands: Callable[[], Sequence[Command[CommandContext]]] = _none
    """Its own `fmbot` commands."""
    checks: Callable[[Settings, Mapping[str, str]], Sequence[FeatureCheck]] = _none
    """Its lines in `fmbot check`, given the settings and where TOOLS_FILE's secrets are
    read from."""
    telegram_checks: Callable[[Settings], Sequence[TelegramLine]] = _none
    """Its lines in `fmbot check`'s Telegram check, read once getMe accepted the token."""
    report: Callable[[Settings], Sequence[ReportPart]] = _none
    """Its parts of `fmbot report`."""
    secrets: Callable[[Settings], Sequence[str]] = _none
    """The values it reads that the logs must never show."""
    variables: Callable[[Settings], Sequence[str]] = _none
    """The environment variables it reads besides its settings section's (the tools file's
    `${VAR}`): `fmbot check` does not call them misspellings."""
    models: Callable[[Settings], Sequence[ModelUse]] = _none
    """The models it calls, as the settings name them (`fmbot check`'s models line)."""
    forums: Callable[[Settings], Sequence[int]] = _none
    """The chats where people work with the bot, as forum supergroups (admitted whatever
    ALLOWED_CHAT_IDS says; the test kit and `fmbot eval` make them forums)."""
    setup: Callable[[FeatureSetup], None] = _unprepared
    """What it registers, on a `FeatureSetup` of its own, run once by the composition root:
    routers, menu commands, context providers, Python tools, turn and lifecycle hooks (its
    settings section read with `setup.section(...)`)."""
    prepare: Callable[[Preparing], None] = _unprepared
    """What is built before the database is touched (a bad file stops the start there)."""
    build: Callable[[Groundwork, Built], Awaitable[CoreParts | None]] = _nothing
    """Its parts on the shared core: its part in a turn, and what it offers others."""
    on_telegram: Callable[[TelegramGround, Built], TelegramParts | None] = _no_part
    """Its parts on the Telegram front: routers, hooks, services, an answer's final form."""
    ready: Callable[[Groundwork, Built], Awaitable[None]] = _nothing
    """Run once before the first question when the bot runs in process (the test kit,
    `fmbot eval`): what `run` keeps up to date in the background, done once and awaited."""


