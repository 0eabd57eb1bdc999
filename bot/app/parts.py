"""What an App holds: the parts a developer or a plugin added (tool sources, context
providers, routers, menu commands, hooks, migrations, plugins) as fmbot's composition root and
command line read them (`parts_of(app)`: internal, never on the public `App`), the hooks'
types, and AppError."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic_settings import BaseSettings

from bot.extending.hooks import (
    AnswerHook as AnswerHook,
)
from bot.extending.hooks import (
    HandoffHook as HandoffHook,
)
from bot.extending.hooks import (
    LifecycleHook,
    NamedProvider,
    name_of,
)
from bot.extending.tools import ToolContext
from bot.menu import MenuCommand

if TYPE_CHECKING:
    from aiogram import Router

    from bot.config.parsing import Section
    from bot.extending.tools import FunctionToolSource, ToolSource
    from bot.features.settings import Settings
    from bot.plugin.feature import Feature

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
ContextProvider = Callable[[ToolContext], Awaitable[str | None]]
CP = TypeVar("CP", bound=ContextProvider)
AH = TypeVar("AH", bound=AnswerHook)
HH = TypeVar("HH", bound=HandoffHook)
LH = TypeVar("LH", bound=LifecycleHook)
S = TypeVar("S", bound="BaseSettings | Section")


class AppError(Exception):
    """A part that cannot be added (a sync function, a clashing name, an unknown plugin...);
    the message says what to change."""


@dataclass(frozen=True, slots=True)
class Migrations:
    """A feature's own Alembic branch: its revisions beside fmbot's, upgraded with them."""

    name: str
    """Whose they are: the branch's label, and the prefix of its revision ids."""
    folder: Path
    """The folder holding the revision files."""


class AppParts:
    """The parts added to an App (by `App`'s methods), and how fmbot reads them. `App` holds
    one; the command line, the wiring and bot.testing read it through `parts_of(app)`."""

    def __init__(
        self,
        app: object,
        *,
        env_file: str | Path | None = ".env",
        settings: Settings | None = None,
    ) -> None:
        self._app = app  # the public App: plugins are set up on it
        self._env_file = env_file
        self._settings = settings
        self._read = False  # the settings were read here (not given): a section added rereads
        self._functions: FunctionToolSource | None = None  # made on first use
        self._providers: list[NamedProvider] = []
        self._routers: list[Router] = []
        self._commands: dict[str, MenuCommand] = {}
        self._described: set[str] = set()  # names given to app.command
        self._on_startup: list[LifecycleHook] = []
        self._on_shutdown: list[LifecycleHook] = []
        self._on_answer: list[AnswerHook] = []
        self._on_handoff: list[HandoffHook] = []
        self._migrations: list[Migrations] = []
        self._tool_sources: list[ToolSource] = []
        self._plugins: list[str] = []
        self._features: list[Feature] = []
        self.evaluating = False  # `fmbot eval` builds the bot: App.evaluating
        self._own_variables: set[str] = set()  # read by App.load_settings models

    @property
    def own_variables(self) -> frozenset[str]:
        """The variables the App's and plugins' own settings models read (upper case): not
        misspellings of fmbot's (`fmbot check`)."""
        return frozenset(self._own_variables)

    def read_by(self, model: type) -> None:
        """Note the variables `model` reads (its `env_prefix` and field names or aliases)."""
        from bot.config.unknown import variables_of

        self._own_variables |= variables_of(model)

    def evaluation_lines(self, stubbed_context: Collection[str]) -> list[str]:
        """What of these parts runs in `fmbot eval`, a line each."""
        return evaluation_lines(self, stubbed_context)

    def evaluated(self, simulated: Simulated, *, whole: bool) -> AppParts:
        """A copy of these parts for an evaluation, in which nothing the App added reaches a
        real system on a simulated customer's behalf (docs/evaluation.md, "What runs"): its
        context providers are answered by the case's `[context]` stubs (no stub: not run),
        its `on_answer` and `on_handoff` hooks are not run for a simulated customer. With
        `whole` (`fmbot eval`: every user is simulated) the lifecycle hooks and the plugins'
        own features are not run either, and `App.evaluating` turns true. Tool sources,
        routers and menu commands are shared (the tools are wrapped by the stubs already)."""
        view = AppParts(self._app, env_file=self._env_file, settings=self._settings)
        view._read = self._read
        view._functions = self._functions
        view._routers = list(self._routers)
        view._commands = dict(self._commands)
        view._described = set(self._described)
        view._migrations = list(self._migrations)
        view._tool_sources = list(self._tool_sources)
        view._plugins = list(self._plugins)
        view._own_variables = self._own_variables
        view._providers = [NamedProvider(p.name, _stubbed_provider(p, simulated))
                           for p in self._providers]
        view._on_answer = [_unless_simulated(hook, simulated, "on_answer")
                           for hook in self._on_answer]
        view._on_handoff = [_unless_simulated(hook, simulated, "on_handoff")
                            for hook in self._on_handoff]
        if whole:
            view.evaluating = self.evaluating = True
        else:
            view._on_startup = list(self._on_startup)
            view._on_shutdown = list(self._on_shutdown)
            view._features = list(self._features)
        return view


    # -- what the command line reads ---------------------------------------------------------

    @property
    def env_file(self) -> str | Path | None:
        return self._env_file

    @property
    def settings(self) -> Settings:
        """The settings: those the App was given, else read from the environment and its
        `.env` on first use (raises `bot.config.ConfigError`), composed with the sections of
        the features its plugins added (`settings.section(HelpdeskSettings)`)."""
        if self._settings is None:
            from bot.features.settings import Settings, compose, load_settings

            self._settings = load_settings(self._env_file, compose(self._features, Settings))
            self._read = True
        return self._settings

    def use_plugins(self, names: str | list[str]) -> None:
        """Set up installed plugins by name, on the App (plugins.py)."""
        from bot.app.plugins import set_up

        wanted = [n.strip() for n in names.split(",")] if isinstance(names, str) else names
        for name, feature in set_up(self._app, [n for n in wanted if n], self._plugins):
            self._plugins.append(name)
            if feature is not None:
                self.add_feature(feature, self._app)

    def add_feature(self, feature: Feature, app: object) -> None:
        """`feature` built after fmbot's own; its `setup` run on `app` (the public App)."""
        if any(known.name == feature.name for known in self._features):
            raise AppError(f"a feature named {feature.name!r} was added already")
        for name, folder in feature.migrations:
            add_migrations = getattr(app, "add_migrations", None)
            if add_migrations is not None:  # the public App checks the name and the folder
                add_migrations(name, folder)
            else:
                self._migrations.append(Migrations(name, Path(folder)))
        feature.setup(app)
        self._features.append(feature)
        if self._read and feature.settings is not None:
            self._settings, self._read = None, False  # read again, with its section

    @property
    def features(self) -> tuple[Feature, ...]:
        """The features the plugins ship, built after fmbot's own, in order."""
        return tuple(self._features)

    @property
    def plugins(self) -> tuple[str, ...]:
        """The plugins set up so far, by name."""
        return tuple(self._plugins)

    # -- what fmbot's composition root reads -------------------------------------------------

    @property
    def routers(self) -> tuple[Router, ...]:
        """The routers added with `include_router`, in order."""
        return tuple(self._routers)

    @property
    def commands(self) -> tuple[MenuCommand, ...]:
        """The commands added to the menu, in order."""
        return tuple(self._commands.values())

    @property
    def migrations(self) -> tuple[Migrations, ...]:
        """The plugins' own migrations, in order."""
        return tuple(self._migrations)

    def migration_folders(self) -> list[tuple[str, Path]]:
        """The plugins' own migrations as (name, folder), as the database module takes them."""
        return [(m.name, m.folder) for m in self._migrations]

    @property
    def tool_sources(self) -> tuple[ToolSource, ...]:
        """The tool sources added (the App's own functions first)."""
        return tuple(self._tool_sources)

    @property
    def startup_hooks(self) -> tuple[LifecycleHook, ...]:
        """The `on_startup` hooks, in order."""
        return tuple(self._on_startup)

    @property
    def shutdown_hooks(self) -> tuple[LifecycleHook, ...]:
        """The `on_shutdown` hooks, in order."""
        return tuple(self._on_shutdown)

    @property
    def providers(self) -> tuple[NamedProvider, ...]:
        """The context providers, in order."""
        return tuple(self._providers)

    @property
    def answer_hooks(self) -> tuple[AnswerHook, ...]:
        """The `on_answer` hooks, in order."""
        return tuple(self._on_answer)

    @property
    def handoff_hooks(self) -> tuple[HandoffHook, ...]:
        """The `on_handoff` hooks, in order."""
        return tuple(self._on_handoff)

    def function_tools(self) -> FunctionToolSource:
        """The App's Python-function tool source, made on first use (one per App)."""
        if self._functions is None:
            from bot.extending.functions import FunctionTools

            self._functions = FunctionTools("app")
            self._tool_sources.insert(0, self._functions)
        return self._functions


class Simulated(Protocol):
    """Who is a simulated customer, and the case's stand-ins for the App's context providers
    (bot/evaluation/stubs.py's `Stubs`)."""

    def stubbed(self, user_id: int) -> bool: ...

    def context(self, user_id: int, provider: str) -> str | None:
        """The case's text for `provider`, or None when the case gives none (not run)."""
        ...

    def skipped(self, user_id: int, what: str) -> None:
        """Note that `what` (a hook, a provider) did not run for `user_id`."""
        ...


def evaluation_lines(parts: AppParts, stubbed_context: Collection[str]) -> list[str]:
    """What of `parts` runs in `fmbot eval`, a line each (docs/evaluation.md, "What runs")."""
    lines = ["tools: every call answered by the case's stubs (a tool without one is refused)"]
    for provider in parts.providers:
        lines.append(f"context provider {provider.name!r}: "
                     + ("answered by the cases' [context] stub where a case gives one, "
                        "else not run" if provider.name in stubbed_context
                        else "not run (no case gives it a [context] stub)"))
    hooks = [*(f"on_startup {name_of(h)}" for h in parts.startup_hooks),
             *(f"on_shutdown {name_of(h)}" for h in parts.shutdown_hooks),
             *(f"on_answer {name_of(h)}" for h in parts.answer_hooks),
             *(f"on_handoff {name_of(h)}" for h in parts.handoff_hooks)]
    lines += [f"hook {hook}: not run" for hook in hooks]
    lines += [f"plugin feature {f.name!r}: not built (its services do not run)"
              for f in parts.features]
    if parts.routers:
        names = ", ".join(repr(r.name) for r in parts.routers)
        lines.append(f"routers {names}: run, as in production, for the commands a simulated "
                     "customer types; they can tell by App.evaluating")
    return lines


def _stubbed_provider(provider: NamedProvider, simulated: Simulated) -> ContextProvider:
    real = provider.function

    @functools.wraps(real)  # logged and stored by the real one's name
    async def answered(ctx: ToolContext) -> str | None:
        if not simulated.stubbed(ctx.user_id):
            return await real(ctx)
        text = simulated.context(ctx.user_id, provider.name)
        if text is None:
            simulated.skipped(ctx.user_id, f"context provider {provider.name!r}")
        return text

    return answered


def _unless_simulated(hook: Any, simulated: Simulated, kind: str) -> Any:
    @functools.wraps(hook)  # logged by the real one's name
    async def run(event: Any) -> None:
        user_id = getattr(event, "user_id", 0)
        if simulated.stubbed(user_id):
            simulated.skipped(user_id, f"{kind} hook {name_of(hook)}")
            return
        await hook(event)

    return run


def require_async(function: Any, what: str) -> Any:
    """`function`, refused with an AppError unless it is an async function."""
    if not inspect.iscoroutinefunction(function):
        raise AppError(f"{what} must be an async function: {name_of(function)} is not")
    return function



def lifecycle_hook(function: Any, what: str) -> Any:
    """`function`, refused with an AppError unless it is an async function taking nothing or
    one `RunContext`."""
    require_async(function, what)
    required = [p for p in inspect.signature(function).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(required) > 1:
        raise AppError(f"{what} takes nothing or one RunContext, not {len(required)} arguments: "
                       f"{name_of(function)}")
    return function
