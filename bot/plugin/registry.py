"""The registry: what every feature (fmbot's, the App's own, the plugins') declared and
built on its `FeatureContext` (lifespan.py), read in the bot's list order by the one loop
each part of the bot needs: the composition root's routers, menu and turn, the extensions
feature's context providers and hooks, the tools feature's Python tools, `fmbot check`'s
checks and models, `fmbot report`'s parts, the logs' secrets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.extending.hooks import AnswerHook, HandoffHook, LifecycleHook, NamedProvider
from bot.extending.tools import ToolSource
from bot.plugin.setup import Menu, Registrations

if TYPE_CHECKING:
    from aiogram import Router

    from bot.conversation.features import TurnFeature
    from bot.plugin.commands import ReportPart
    from bot.plugin.declarations import FeatureCheck, ModelUse, SettingsCheck, TelegramLine
    from bot.telegram.answer_parts import FinalForm
    from bot.telegram.featureparts import TelegramPart

__all__ = ["Declared", "Registry"]


@dataclass(slots=True)
class Declared(Registrations):
    """What one feature registered: `Registrations` (routers, menu, tools, hooks) and the
    rest of what its lifespan adds, each kind in the order it was added."""

    settings_checks: list[SettingsCheck] = field(default_factory=list)
    checks: list[FeatureCheck] = field(default_factory=list)
    telegram_checks: list[TelegramLine] = field(default_factory=list)
    reports: list[ReportPart] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    models: list[ModelUse] = field(default_factory=list)
    forums: list[int] = field(default_factory=list)
    turn: list[TurnFeature] = field(default_factory=list)
    last: list[TurnFeature] = field(default_factory=list)
    idle: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    ready: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    fronts: list[TelegramPart] = field(default_factory=list)
    final_forms: list[FinalForm] = field(default_factory=list)



@dataclass(frozen=True, slots=True)
class Registry:
    """Every feature's registrations and declarations, in the bot's list order (fmbot's
    features, the App, the plugins), as their lifespans made them (lifespan.py): the one
    place the composition root, `fmbot check`, `fmbot report` and the preflight read
    routers, the menu, context providers, tools, hooks, checks, models, secrets and each
    feature's parts from."""

    features: tuple[Declared, ...] = ()

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

    @property
    def settings_checks(self) -> tuple[SettingsCheck, ...]:
        return tuple(c for f in self.features for c in f.settings_checks)

    @property
    def checks(self) -> tuple[FeatureCheck, ...]:
        return tuple(c for f in self.features for c in f.checks)

    @property
    def telegram_checks(self) -> tuple[TelegramLine, ...]:
        return tuple(c for f in self.features for c in f.telegram_checks)

    @property
    def reports(self) -> tuple[ReportPart, ...]:
        return tuple(p for f in self.features for p in f.reports)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for f in self.features for s in f.secrets)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(v for f in self.features for v in f.variables)

    @property
    def models(self) -> tuple[ModelUse, ...]:
        return tuple(m for f in self.features for m in f.models)

    @property
    def forums(self) -> tuple[int, ...]:
        return tuple(c for f in self.features for c in f.forums)

    @property
    def turn(self) -> tuple[TurnFeature, ...]:
        """Every feature's part in a turn, then those asked last."""
        return (*(t for f in self.features for t in f.turn),
                *(t for f in self.features for t in f.last))

    @property
    def idle(self) -> tuple[Callable[[], Awaitable[None]], ...]:
        return tuple(i for f in self.features for i in f.idle)

    @property
    def ready(self) -> tuple[Callable[[], Awaitable[None]], ...]:
        return tuple(r for f in self.features for r in f.ready)

    @property
    def fronts(self) -> tuple[TelegramPart, ...]:
        return tuple(p for f in self.features for p in f.fronts)

    @property
    def final_forms(self) -> tuple[FinalForm, ...]:
        return tuple(p for f in self.features for p in f.final_forms)
