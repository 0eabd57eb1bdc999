"""What a feature's lifespan is given (lifespan.py): its `FeatureContext`, on which it
declares, registers and builds, and the phases it awaits; what it added (`Declared`), read by
the registry (registry.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bot.plugin.built import Built
from bot.plugin.registry import Declared
from bot.plugin.setup import AppError, FeatureSetup, Registrations

if TYPE_CHECKING:
    from bot.config.composed import SettingsBase as Settings
    from bot.conversation.features import TurnFeature
    from bot.plugin.commands import ReportPart
    from bot.plugin.declarations import FeatureCheck, ModelUse, SettingsCheck, TelegramLine
    from bot.plugin.ground import Groundwork, Preparing, TelegramGround
    from bot.telegram.answer_parts import FinalForm
    from bot.telegram.featureparts import TelegramPart

__all__ = ["PHASES", "Declared", "FeatureContext", "Lifespan", "Phase", "declarations", "seal"]

T = TypeVar("T")

#: A feature's lifecycle: an async generator yielding once, an async function, or a plain
#: function that only registers.
Lifespan = Callable[["FeatureContext"], "AsyncIterator[None] | Awaitable[None] | None"]

#: The phases, in the order the composition root reaches them.
PHASES = ("prepare", "core", "telegram")


class Phase(Generic[T]):
    """What a lifespan awaits to wait for a phase: it yields itself to the driver, which
    resumes the lifespan once the phase has its value."""

    __slots__ = ("name", "value")

    def __init__(self, name: str) -> None:
        self.name = name
        self.value: Any = None

    def __await__(self) -> Generator[Any, None, T]:
        yield self
        return self.value  # type: ignore[no-any-return]


class FeatureContext(FeatureSetup):
    """One feature's context for its lifespan: what it declares (its checks, models, report
    parts, secrets...), registers (`FeatureSetup`'s routers, menu commands, tools, context
    providers, hooks) and builds (its part in a turn, its offers, its part on the Telegram
    front), and the phases it awaits to build. Each method says who reads what it adds."""

    def __init__(
        self,
        feature: str,
        settings: Settings,
        *,
        environ: Mapping[str, str] | None = None,
        built: Built | None = None,
    ) -> None:
        super().__init__(feature, settings)
        self._parts = Declared(feature)
        self._registrations = self._parts
        self._settings = settings
        self._environ = environ if environ is not None else {}
        self._built = built if built is not None else Built()
        self._sealed = False  # declared: what the registry reads is read already

    # -- what it is given ----------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The feature's name, as the logs and errors say it."""
        return self._parts.feature

    @property
    def settings(self) -> Settings:
        """The bot's settings (its own section: `section(Model)`)."""
        return self._settings

    @property
    def environ(self) -> Mapping[str, str]:
        """Where the tools file's `${VAR}` are read from: the environment over `.env`."""
        return self._environ

    @property
    def built(self) -> Built:
        """What the features above it offered (`find`, `need`), found by type."""
        return self._built

    # -- what it declares ----------------------------------------------------------------------

    def settings_check(self, check: SettingsCheck) -> None:
        """A check of its settings, run before any of its commands starts anything, and by
        `fmbot check` as `run` runs it."""
        self._declared().settings_checks.append(check)

    def check(self, check: FeatureCheck) -> None:
        """A line of `fmbot check`."""
        self._declared().checks.append(check)

    def telegram_check(self, line: TelegramLine) -> None:
        """A line of `fmbot check`'s Telegram check, read once getMe accepted the token."""
        self._declared().telegram_checks.append(line)

    def report(self, part: ReportPart) -> None:
        """A part of `fmbot report`."""
        self._declared().reports.append(part)

    def secret(self, *values: str) -> None:
        """Values it reads that the logs must never show (empty ones are left out)."""
        self._declared().secrets.extend(v for v in values if v)

    def variable(self, *names: str) -> None:
        """Environment variables it reads besides its section's (the tools file's `${VAR}`):
        `fmbot check` does not call them misspellings."""
        self._declared().variables.extend(names)

    def model(self, use: ModelUse) -> None:
        """A model it calls, as a setting names it (`fmbot check`'s models line)."""
        self._declared().models.append(use)

    def forum(self, *chat_ids: int) -> None:
        """Chats where people work with the bot, as forum supergroups (admitted whatever
        ALLOWED_CHAT_IDS says; the test kit and `fmbot eval` make them forums)."""
        self._declared().forums.extend(c for c in chat_ids if c)

    # -- the phases ----------------------------------------------------------------------------

    def prepare(self) -> Phase[Preparing]:
        """Wait until every feature has declared: the registry is whole, nothing started."""
        return Phase("prepare")

    def core(self) -> Phase[Groundwork]:
        """Wait until the shared core is up (the database migrated, the model clients made)
        and the features above this one are built on it."""
        return Phase("core")

    def telegram(self) -> Phase[TelegramGround | None]:
        """Wait until the Telegram front's ground is made: None without Telegram (the
        terminal chat, `fmbot report`)."""
        return Phase("telegram")

    # -- what it builds ------------------------------------------------------------------------

    def offer(self, item: object) -> None:
        """Offer `item` to the features below this one (and the command line, the test kit),
        found by its type."""
        self._built.add(self.name, item)

    def turn(self, *parts: TurnFeature, last: bool = False) -> None:
        """Its part in every turn, asked in the features' order; `last`: after every
        feature's (the grounding's "not found" text)."""
        (self._parts.last if last else self._parts.turn).extend(parts)

    def idle(self, wait: Callable[[], Awaitable[None]]) -> None:
        """What the bot waits for before it is idle (work a hook started, in process)."""
        self._parts.idle.append(wait)

    def on_ready(self, ready: Callable[[], Awaitable[None]]) -> None:
        """Run once before the first question when the bot runs in process (the test kit,
        `fmbot eval`): what `run` keeps up to date in the background, done and awaited."""
        self._parts.ready.append(ready)

    def on_front(self, part: TelegramPart) -> None:
        """Its part on the Telegram front (routers, hooks, services, `/help` and `/stats`
        lines), built on what `await ctx.telegram()` gave (its `parts`: the front's own)."""
        self._parts.fronts.append(part)

    def final_form(self, form: FinalForm) -> None:
        """How an answer's final form is made (rich messages)."""
        self._parts.final_forms.append(form)

    # -- internal ------------------------------------------------------------------------------

    def _declared(self) -> Declared:
        return self._parts

    def _seal(self) -> None:
        self._sealed = True

    def _own(self) -> Registrations:
        if self._sealed:
            raise AppError(f"the {self.name} feature registered a router, a menu command, a "
                           "tool, a context provider or a hook after its first phase: register "
                           "them before `await ctx.prepare()` / `ctx.core()`")
        return self._parts


def declarations(context: FeatureContext) -> Declared:
    """What `context`'s feature declared and built (the composition root's read)."""
    return context._declared()


def seal(context: FeatureContext) -> None:
    """`context`'s feature has declared: a registration the registry would not read again
    (a router, a menu command, a tool, a provider, a hook) is refused from now on."""
    context._seal()


