"""A feature's own `fmbot` commands and its parts of `fmbot report`: what the command line
(bot/cli) takes from each feature's `Feature` object, and the `CommandContext` a command's body
is given (the command line's factory: the settings, the App, the database, the models, the bot),
so that a feature's command names nothing of bot.cli or bot.wiring."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:

    from bot.config.composed import SettingsBase as Settings
    from bot.foundation_models.client import FoundationModelsClient
    from bot.plugin.running import RunningBot, RunningCore
    from bot.storage.database import Database


class Subcommands(Protocol):
    """What `ArgumentParser.add_subparsers()` returns, as far as the commands use it."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A sub-command's parser, as `argparse` makes it (`help=...` and the rest)."""
        ...


# What a command's body is given: a feature's takes the `CommandContext`, the command line's
# own the whole factory (a command taking the protocol fits wherever the factory is given).
Context = TypeVar("Context", contravariant=True)


@dataclass(frozen=True, slots=True)
class Command(Generic[Context]):
    """One `fmbot` command a feature ships (`Feature.commands`): `fmbot <name> ...`."""

    name: str
    """The command's word on the line; one of fmbot's own is refused."""
    add_parser: Callable[[Subcommands], list[argparse.ArgumentParser]]
    """Declares it: adds its parser to the sub-commands given (`add_parser(name, help=...)`)
    and returns every parser of it that takes `--app`, its own and its sub-commands'."""
    run: Callable[[Context, argparse.Namespace], Coroutine[Any, Any, int]]
    """Carries it out, given the `CommandContext` and the parsed line; the exit status."""


@dataclass(frozen=True, slots=True)
class ReportSection:
    """A feature's part of `fmbot report`: its text, `write_csv(path)` when it writes rows
    to the `--csv` file and `write_html(path)` when it writes the `--html` page (each returns
    the line telling what it wrote)."""

    text: str
    """What the report prints of it."""
    write_csv: Callable[[Path], str] | None = None
    """Writes its rows to the `--csv` file's sibling; the line telling what it wrote."""
    write_html: Callable[[Path], str] | None = None
    """Writes its part of the `--html` page; the line telling what it wrote."""


class ReportPart(Protocol):
    """A feature's figures in `fmbot report` over the last `days` (each feature's `Feature.report`
    lists them), read from the migrated database."""

    async def __call__(self, db: Database, days: int) -> ReportSection: ...



class CommandContext(Protocol):
    """What a command's body is given: the command line's factory (bot/cli/factory.py), made
    once the settings are read and checked. It builds only what the command asks for."""

    @property
    def settings(self) -> Settings:
        """fmbot's settings, read and checked."""
        ...

    @property
    def system_prompt(self) -> str:
        """The bot's system prompt, resolved (for the commands that build a conversation)."""
        ...

    def migrations(self) -> list[tuple[str, Path]]:
        """The App's and its plugins' migrations, applied with fmbot's."""
        ...

    async def migrate(self) -> None:
        """The database migrated (fmbot's, the App's and the plugins' migrations)."""
        ...

    def database(self) -> AbstractAsyncContextManager[Database]:
        """The database (not migrated: `migrate` first), disposed of on exit."""
        ...

    def client(self) -> AbstractAsyncContextManager[FoundationModelsClient]:
        """The Foundation Models client, closed on exit."""
        ...

    def core(self) -> AbstractAsyncContextManager[RunningCore]:
        """The shared core (the database migrated, the models, the features built on it)."""
        ...

    def running(self, **options: Any) -> AbstractAsyncContextManager[RunningBot]:
        """The whole bot `fmbot run` runs, built in process and not yet taking updates
        (`options`: what `built_bot` in bot/wiring/run.py takes besides the settings;
        `simulated`: every user is a simulated customer of `fmbot eval`, for whom nothing the
        App added reaches a real system: bot/app/parts.py, `AppParts.evaluated`)."""
        ...

    def evaluation_lines(self, stubbed_context: Collection[str]) -> list[str]:
        """What of the App runs in `fmbot eval`, a line each (its context providers, those in
        `stubbed_context` answered by a case's stub; its hooks; the plugins' features)."""
        ...
