"""The registry: every feature's registrations (fmbot's features, the App's own, the
plugins'), each feature set up once on a `FeatureSetup` of its own (setup.py), read in the
bot's list order by the one loop each part of the bot needs: the composition root's routers
and menu, the extensions feature's context providers and hooks, the tools feature's Python
tools."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.extending.hooks import AnswerHook, HandoffHook, LifecycleHook, NamedProvider
from bot.extending.tools import ToolSource
from bot.plugin.setup import AppError, FeatureSetup, Menu, Registrations, registered

if TYPE_CHECKING:
    from aiogram import Router

    from bot.config.composed import SettingsBase as Settings

__all__ = ["Registry", "SetsUp"]

log = logging.getLogger("bot")


class SetsUp(Protocol):
    """What the registry sets up: a `Feature` (its name and its `setup`)."""

    @property
    def name(self) -> str: ...

    @property
    def setup(self) -> Callable[[FeatureSetup], None]: ...


@dataclass(frozen=True, slots=True)
class Registry:
    """Every feature's registrations, in the bot's list order (fmbot's features, the App,
    the plugins): the one place the composition root reads routers, the menu, context
    providers, tools and hooks from."""

    features: tuple[Registrations, ...] = ()

    @classmethod
    def of(cls, features: Iterable[SetsUp], settings: Settings | None) -> Registry:
        """Each feature set up once, on a context of its own. A feature whose setup fails
        stops the start with a ConfigError naming it; a context provider's name taken by
        two features is refused (the stored answer and the evaluation's stubs name it)."""
        from bot.config import ConfigError

        done: list[Registrations] = []
        names: dict[str, str] = {}
        for feature in features:
            setup = FeatureSetup(feature.name, settings)
            try:
                feature.setup(setup)
            except (AppError, ConfigError) as exc:
                raise ConfigError(f"the {feature.name} feature: {exc}") from None
            except Exception as exc:
                log.exception("the %s feature failed to set up", feature.name)
                raise ConfigError(f"the {feature.name} feature failed to set up: {exc!r}"
                                  ) from None
            for provider in registered(setup).providers:
                if (other := names.setdefault(provider.name, feature.name)) != feature.name:
                    raise ConfigError(f"the {feature.name} feature: a context provider named "
                                      f"{provider.name!r} is the {other} feature's already")
            done.append(registered(setup))
        return cls(tuple(done))

    @property
    def routers(self) -> tuple[Router, ...]:
        return tuple(r for f in self.features for r in f.routers)

    @property
    def menu(self) -> Menu:
        """The menu commands: a command a feature describes (`command`) over the same name
        from an earlier one (the App's over fmbot's), a router's only where none is yet."""
        menu: Menu = {}
        for feature in self.features:
            for name, descriptions in feature.menu.items():
                if name in feature.described or name not in menu:
                    menu[name] = dict(descriptions)
        return menu

    @property
    def providers(self) -> tuple[NamedProvider, ...]:
        return tuple(p for f in self.features for p in f.providers)

    @property
    def tool_sources(self) -> tuple[ToolSource, ...]:
        return tuple(s for f in self.features for s in f.tool_sources)

    @property
    def startup_hooks(self) -> tuple[LifecycleHook, ...]:
        return tuple(h for f in self.features for h in f.startup_hooks)

    @property
    def shutdown_hooks(self) -> tuple[LifecycleHook, ...]:
        return tuple(h for f in self.features for h in f.shutdown_hooks)

    @property
    def answer_hooks(self) -> tuple[AnswerHook, ...]:
        return tuple(h for f in self.features for h in f.answer_hooks)

    @property
    def handoff_hooks(self) -> tuple[HandoffHook, ...]:
        return tuple(h for f in self.features for h in f.handoff_hooks)
