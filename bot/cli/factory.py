"""What every command takes its parts from: one `Factory` per command line, made by the
dispatcher (dispatch.py) once the settings are read and checked, and the `Command` each module
of this package declares (its parser and its body).

The factory builds from the App's settings only what a command asks for (a database, the
model client, the whole core of wiring), so `fmbot report` never builds a model client and
`fmbot --help` imports neither the wiring nor the storage.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from bot.app.parts import AppParts
    from bot.config.unknown import Unknown
    from bot.features.settings import Settings
    from bot.foundation_models.client import FoundationModelsClient
    from bot.plugin.feature import Feature
    from bot.storage.database import Database
    from bot.wiring import BuiltBot, Core


@dataclass(frozen=True, slots=True)
class Factory:
    """The settings, checked for the command; the App whose parts join (its tools, hooks and
    migrations); the resolved system prompt (for `run`, `chat` and `record`)."""

    app: AppParts
    settings: Settings
    system_prompt: str = ""

    @property
    def features(self) -> tuple[Feature, ...]:
        """The bot's features: fmbot's list, then those the App's plugins ship (the one
        list every loop over the features reads: `features_of`)."""
        from bot.features.installed import bot_features

        return bot_features(self.app.features)

    def migrations(self) -> list[tuple[str, Path]]:
        """The App's and its plugins' migrations, applied with fmbot's."""
        return self.app.migration_folders()

    async def migrate(self) -> None:
        from bot.storage.migrations import migrate

        await migrate(self.settings.database_url, extra=self.migrations())

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Database]:
        """The database (not migrated: `migrate` first), disposed of on exit."""
        from bot.features.installed import load_tables
        from bot.storage.database import Database

        load_tables()  # every feature's tables, erased with the rest on /forget
        db = Database(self.settings.database_url)
        try:
            yield db
        finally:
            await db.dispose()

    @asynccontextmanager
    async def client(self) -> AsyncIterator[FoundationModelsClient]:
        """The Foundation Models client, closed on exit."""
        from bot.plugin.clients import build_auth_from, build_client

        client = build_client(self.settings, build_auth_from(self.settings))
        try:
            yield client
        finally:
            await client.aclose()

    def core(
        self, *, http: httpx.AsyncClient | None = None
    ) -> AbstractAsyncContextManager[Core]:
        """wiring's core (the database migrated, the model, the conversation) with the App's
        parts; `http`: the models' HTTP client (`record`'s recording one)."""
        from bot.wiring import core

        return core(self.settings, self.system_prompt, app=self.app, http=http)

    def running(self, **options: Any) -> AbstractAsyncContextManager[BuiltBot]:
        """The whole bot `fmbot run` runs, with the App's parts, built in process and not yet
        taking updates (`options`: what `built_bot` takes besides the settings, the prompt
        and the App; `settings` replaces the factory's; `simulated`: the App's parts as
        `fmbot eval` runs them, `AppParts.evaluated`)."""
        from bot.wiring import built_bot

        settings = options.pop("settings", self.settings)
        simulated = options.pop("simulated", None)
        app = self.app if simulated is None else self.app.evaluated(simulated, whole=True)
        return built_bot(settings, self.system_prompt, app=app, **options)

    def evaluation_lines(self, stubbed_context: Collection[str]) -> list[str]:
        return self.app.evaluation_lines(stubbed_context, self.settings)

    def unknown_variables(self, environ: Mapping[str, str]) -> list[Unknown]:
        """What `.env` and the environment set that no setting reads (a misspelling, most
        often): fmbot's settings, the plugins' and what the features read besides (the
        tools file's `${VAR}`) are known."""
        from bot.config.unknown import unknown_variables, variables_of
        from bot.plugin.lifespan import declared

        known = {*self.settings.variables(), *self.app.own_variables}
        for feature in self.features:  # a plugin's section
            known |= variables_of(feature.settings) if feature.settings is not None else set()
        known.update(declared(self.features, self.settings).variables)  # read besides
        env_file = self.app.env_file
        return unknown_variables(known, env_file=Path(env_file) if env_file else None,
                                 environ=environ)


def run_async(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop where it is installed (every platform but Windows), else asyncio.

    Measured with bench/bench_load.py --users 50: 52 -> 48 ms of bot CPU per answered turn.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def run_async_value(main: Coroutine[Any, Any, int]) -> int:
    """`run_async` for a coroutine whose result is the exit code."""
    result: list[int] = []

    async def keep() -> None:
        result.append(await main)

    run_async(keep())
    return result[0]


def secrets_of(settings: Settings, features: Sequence[Feature]) -> list[str]:
    """Values the log scrubber must never let through (bot/wiring/preflight.py, which
    /readyz's scrubber reads too): fmbot's and those the bot's `features` read (fmbot's and
    its plugins': the one list, `Factory.features`)."""
    from bot.wiring.preflight import secrets_of as configured

    return configured(settings, features)
