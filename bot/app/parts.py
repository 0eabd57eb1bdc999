"""What an App holds besides its own registrations (its settings, its migrations, the
features it adds: its plugins'), as fmbot's composition root and command line read them
(`parts_of(app)`: internal, never on the public `App`): the App's own feature among them, and
what of them runs in `fmbot eval`."""

from __future__ import annotations

import functools
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
from bot.extending.hooks import NamedProvider, name_of
from bot.extending.tools import ToolContext
from bot.plugin.feature import Feature
from bot.plugin.registry import Registry
from bot.plugin.setup import AppError, FeatureSetup, Registrations, registered, replay

if TYPE_CHECKING:
    from bot.config.parsing import Section
    from bot.features.settings import Settings
    from bot.plugin.context import FeatureContext

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
ContextProvider = Callable[[ToolContext], Awaitable[str | None]]
S = TypeVar("S", bound="BaseSettings | Section")

__all__ = ["AppError", "AppParts", "Migrations"]


@dataclass(frozen=True, slots=True)
class Migrations:
    """A feature's own Alembic branch: its revisions beside fmbot's, upgraded with them."""

    name: str
    """Whose they are: the branch's label, and the prefix of its revision ids."""
    folder: Path
    """The folder holding the revision files."""


def checked_migrations(name: str, folder: str | Path) -> Migrations:
    """A migrations branch, refused unless its name is an identifier and its folder is."""
    if not name.isidentifier():
        raise AppError(f"migrations name {name!r} must be a Python identifier")
    path = Path(folder)
    if not path.is_dir():
        raise AppError(f"migrations folder {path} does not exist")
    return Migrations(name, path)


class AppParts:
    """What an App adds to fmbot's features: its own feature ("app", from its decorators and
    `add_migrations`), then the features it was given (`add_feature`, its plugins'), and how
    fmbot reads them. `App` holds one; the command line, the wiring and bot.testing read it
    through `parts_of(app)`."""

    def __init__(
        self,
        app: FeatureSetup,
        *,
        env_file: str | Path | None = ".env",
        settings: Settings | None = None,
    ) -> None:
        self._app = app  # the public App: its decorators registered on it
        self._env_file = env_file
        self._settings = settings
        self._read = False  # the settings were read here (not given): a section added rereads
        self._migrations: list[Migrations] = []
        self._plugins: list[str] = []
        self._features: list[Feature] = []
        self._evaluated: tuple[Simulated, bool] | None = None  # `evaluated`'s view
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

    def evaluation_lines(self, stubbed_context: Collection[str], settings: Settings
                         ) -> list[str]:
        """What of these parts runs in `fmbot eval`, a line each."""
        from bot.plugin.lifespan import declared

        registry = declared(self.features, settings, adjust=self.adjustments())
        return evaluation_lines(self, registry, stubbed_context)

    def evaluated(self, simulated: Simulated, *, whole: bool) -> AppParts:
        """A copy of these parts for an evaluation, in which nothing the App and its plugins
        registered reaches a real system on a simulated customer's behalf
        (docs/evaluation.md, "What runs"): their context providers are answered by the
        case's `[context]` stubs (no stub: not run), their `on_answer` and `on_handoff` hooks
        are not run for a simulated customer. With `whole` (`fmbot eval`: every user is
        simulated) the lifecycle hooks and the plugins' features' parts are not run either
        (only their registrations are), and `App.evaluating` turns true. Tool sources,
        routers and menu commands are shared (the tools are wrapped by the stubs already)."""
        view = AppParts(self._app, env_file=self._env_file, settings=self._settings)
        view._read = self._read
        view._migrations = list(self._migrations)
        view._plugins = list(self._plugins)
        view._features = list(self._features)
        view._own_variables = self._own_variables
        view._evaluated = (simulated, whole)
        if whole:
            view.evaluating = self.evaluating = True
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

            self._settings = load_settings(self._env_file, compose(self.features, Settings))
            self._read = True
        return self._settings

    def use_plugins(self, names: str | list[str]) -> None:
        """Add installed plugins' features by name (plugins.py)."""
        from bot.app.plugins import installed

        wanted = [n.strip() for n in names.split(",")] if isinstance(names, str) else names
        for name, feature in installed([n for n in wanted if n], self._plugins):
            self._plugins.append(name)
            self.add_feature(feature)

    def add_migrations(self, name: str, folder: str | Path) -> None:
        """The App's own migrations branch (App.add_migrations)."""
        self._migrations.append(checked_migrations(name, folder))

    def add_feature(self, feature: Feature) -> None:
        """`feature` built after fmbot's own and the App's (set up by the composition root,
        as every feature is)."""
        if any(known.name == feature.name for known in self.features):
            raise AppError(f"a feature named {feature.name!r} was added already")
        for name, folder in feature.migrations:
            checked_migrations(name, folder)
        self._features.append(feature)
        if self._read and feature.settings is not None:
            self._settings, self._read = None, False  # read again, with its section

    @property
    def feature(self) -> Feature:
        """The App's own feature: its decorators' registrations and its migrations."""
        own = registered(self._app)
        return Feature(name="app", lifespan=lambda context: replay(own, context),
                       migrations=tuple((m.name, m.folder) for m in self._migrations))

    @property
    def features(self) -> tuple[Feature, ...]:
        """The App's feature, then those it added (its plugins'), built after fmbot's own, in
        order (in an evaluation, as `adjustments` changes them)."""
        return (self.feature, *self._features)

    def adjustments(self) -> dict[str, Callable[[FeatureContext], bool]]:
        """In an evaluation (`evaluated`), how each of these features is changed once it has
        declared (lifespan.py's `Lifespans.declare`): its context providers stubbed, its
        hooks kept from simulated customers; with `whole`, declared only (never built)."""
        if self._evaluated is None:
            return {}
        simulated, whole = self._evaluated
        return {f.name: functools.partial(_evaluated, simulated=simulated, whole=whole)
                for f in self.features}

    @property
    def added(self) -> tuple[Feature, ...]:
        """The features the App was given (its plugins'), without its own."""
        return tuple(self._features)

    @property
    def plugins(self) -> tuple[str, ...]:
        """The plugins set up so far, by name."""
        return tuple(self._plugins)

    @property
    def registrations(self) -> Registrations:
        """What the App's own decorators registered."""
        return registered(self._app)

    def migration_folders(self) -> list[tuple[str, Path]]:
        """The App's and its features' own migrations as (name, folder), as the database
        module takes them."""
        return [(name, Path(folder)) for f in self.features for name, folder in f.migrations]


def _evaluated(context: FeatureContext, *, simulated: Simulated, whole: bool) -> bool:
    """What a feature registered, as `fmbot eval` (`whole`) or the test kit's simulated
    customers run it: its context providers stubbed and its hooks kept from simulated
    customers; with `whole`, no lifecycle hooks, and False: none of its parts is built (only
    what it declares)."""
    done = registered(context)
    done.providers = [NamedProvider(p.name, _stubbed_provider(p, simulated))
                      for p in done.providers]
    done.answer_hooks = [_unless_simulated(h, simulated, "on_answer") for h in done.answer_hooks]
    done.handoff_hooks = [_unless_simulated(h, simulated, "on_handoff")
                          for h in done.handoff_hooks]
    if whole:
        done.startup_hooks, done.shutdown_hooks = [], []
    return not whole


class Simulated(Protocol):
    """Who is a simulated customer, and the case's stand-ins for the App's context providers
    (bot/features/evaluation/stubs.py's `Stubs`)."""

    def stubbed(self, user_id: int) -> bool: ...

    def context(self, user_id: int, provider: str) -> str | None:
        """The case's text for `provider`, or None when the case gives none (not run)."""
        ...

    def skipped(self, user_id: int, what: str) -> None:
        """Note that `what` (a hook, a provider) did not run for `user_id`."""
        ...



def evaluation_lines(
    parts: AppParts, registry: Registry, stubbed_context: Collection[str]
) -> list[str]:
    """What of `parts` (registering `registry`) runs in `fmbot eval`, a line each
    (docs/evaluation.md, "What runs")."""
    lines = ["tools: every call answered by the case's stubs (a tool without one is refused)"]
    for provider in registry.providers:
        lines.append(f"context provider {provider.name!r}: "
                     + ("answered by the cases' [context] stub where a case gives one, "
                        "else not run" if provider.name in stubbed_context
                        else "not run (no case gives it a [context] stub)"))
    hooks = [*(f"on_startup {name_of(h)}" for h in registry.startup_hooks),
             *(f"on_shutdown {name_of(h)}" for h in registry.shutdown_hooks),
             *(f"on_answer {name_of(h)}" for h in registry.answer_hooks),
             *(f"on_handoff {name_of(h)}" for h in registry.handoff_hooks)]
    lines += [f"hook {hook}: not run" for hook in hooks]
    lines += [f"plugin feature {f.name!r}: not built (its services do not run)"
              for f in parts.added]
    if registry.routers:
        names = ", ".join(repr(r.name) for r in registry.routers)
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
