"""A feature's one lifecycle, in the manner of Starlette's lifespan: one function, given a
`FeatureContext` of its own, registers what the feature adds and builds it, phase by phase.

```python
async def lifespan(ctx: FeatureContext) -> AsyncIterator[None]:
    area = ctx.section(VoiceSettings)          # what it declares, read without building
    ctx.report(voice_part(area))
    ctx.check(FeatureCheck("speech synthesis", synthesis))
    ground = await ctx.core()                  # the shared core is up: build on it
    synthesizer = SpeechSynthesizer(...)
    ctx.offer(synthesizer)
    front = await ctx.telegram()               # None without Telegram (the terminal chat)
    if front is not None:
        ctx.on_front(voice_on_telegram(...))
    yield                                      # the bot runs
    await synthesizer.aclose()                 # it stops
```

A lifespan is an async generator that yields once (what follows its `yield` runs when the
bot stops), an async function, or a plain function that only registers. Everything it does
before its first phase is its declaration: it must be quick and touch nothing outside (no
network, no database; the settings are read), because the bot runs it for every command:
`fmbot check` reads its checks and models, `fmbot report` its report parts, every start its
settings checks and secrets, and closes it there (`declared`). Routers, menu commands,
context providers, tools and hooks are declarations too: the registry is read once every
feature has declared.

The phases, awaited in this order (a feature awaits only those it builds in):
- `await ctx.prepare()`: every feature has declared; nothing is started (the tools file is
  read here: a bad one stops the start before the database is touched).
- `await ctx.core()`: the database is migrated, the model clients are made; the feature
  builds on them, adds its part in a turn (`turn`) and offers others what they may find
  (`offer`, found with `ctx.built`).
- `await ctx.telegram()`: the Telegram front's ground (None without Telegram): its routers,
  services and `/help` and `/stats` lines (`on_front`).

The composition root drives the phases feature by feature, in the bot's list order, so a
feature finds what the features above it offered. It names no feature.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import types
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bot.plugin.built import Built
from bot.plugin.setup import AppError, FeatureSetup, Registrations, registered

if TYPE_CHECKING:
    from bot.config.composed import SettingsBase as Settings
    from bot.conversation.features import TurnFeature
    from bot.plugin.commands import ReportPart
    from bot.plugin.feature import Feature, FeatureCheck, ModelUse, SettingsCheck, TelegramLine
    from bot.plugin.ground import Groundwork, Preparing, TelegramGround
    from bot.plugin.registry import Registry
    from bot.telegram.answer_parts import FinalForm
    from bot.telegram.featureparts import TelegramFeature

__all__ = ["FeatureContext", "Lifespan", "Lifespans", "declared"]

log = logging.getLogger("bot")

T = TypeVar("T")

#: A feature's lifecycle: an async generator yielding once, an async function, or a plain
#: function that only registers.
Lifespan = Callable[["FeatureContext"], "AsyncIterator[None] | Awaitable[None] | None"]

#: The phases, in the order the composition root reaches them.
PHASES = ("prepare", "core", "telegram")


class _Phase(Generic[T]):
    """What a lifespan awaits to wait for a phase: it yields itself to the driver, which
    resumes the lifespan once the phase has its value."""

    __slots__ = ("name", "value")

    def __init__(self, name: str) -> None:
        self.name = name
        self.value: Any = None

    def __await__(self) -> Generator[Any, None, T]:
        yield self
        return self.value  # type: ignore[no-any-return]


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
    fronts: list[TelegramFeature] = field(default_factory=list)
    final_forms: list[FinalForm] = field(default_factory=list)


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

    def prepare(self) -> _Phase[Preparing]:
        """Wait until every feature has declared: the registry is whole, nothing started."""
        return _Phase("prepare")

    def core(self) -> _Phase[Groundwork]:
        """Wait until the shared core is up (the database migrated, the model clients made)
        and the features above this one are built on it."""
        return _Phase("core")

    def telegram(self) -> _Phase[TelegramGround | None]:
        """Wait until the Telegram front's ground is made: None without Telegram (the
        terminal chat, `fmbot report`)."""
        return _Phase("telegram")

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

    def on_front(self, part: TelegramFeature) -> None:
        """Its part on the Telegram front (routers, hooks, services, `/help` and `/stats`
        lines), built once the front's own parts are."""
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


# -- the driver ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """One feature's lifespan under way: its start (until its `yield`), the phase it waits
    for, and what follows its `yield`."""

    feature: Feature
    context: FeatureContext
    start: Coroutine[Any, Any, None] | None = None
    waiting: _Phase[Any] | None = None
    after: Any = None  # an async generator lifespan (AsyncGenerator), once started


async def _started(made: Any, run: _Run) -> None:
    if inspect.isasyncgen(made):
        try:
            await made.__anext__()
        except StopAsyncIteration:
            raise AppError(f"the {run.feature.name} feature's lifespan must yield once") from None
        run.after = made
    elif inspect.isawaitable(made):
        await made
    elif made is not None:
        raise AppError(f"the {run.feature.name} feature's lifespan returned {made!r}: it is "
                       "an async generator, an async function or a function")


def _first_step(run: _Run) -> None:
    """Run the lifespan's declaration: until it awaits its first phase, or ends."""
    assert run.start is not None
    try:
        yielded = run.start.send(None)
    except StopIteration:
        run.start = None
        return
    except BaseException:
        run.start = None
        raise
    if not isinstance(yielded, _Phase):
        _close(run)
        raise AppError(f"the {run.feature.name} feature awaited {yielded!r} before its first "
                       "phase: declare first, then await `ctx.core()` to build")
    run.waiting = yielded


@types.coroutine
def _resume(run: _Run, phase: _Phase[Any] | None, error: BaseException | None = None
            ) -> Generator[Any, Any, None]:
    """Resume the lifespan with the phase it waited for (or throw `error` into it), passing
    what else it awaits to the event loop, until it awaits its next phase or ends."""
    assert run.start is not None
    send: Any = None
    throw = error
    while True:
        try:
            yielded = run.start.throw(throw) if throw is not None else run.start.send(send)
        except StopIteration:
            run.start = run.waiting = None
            return
        except BaseException:
            run.start = run.waiting = None
            raise
        if isinstance(yielded, _Phase):
            if phase is not None and PHASES.index(yielded.name) <= PHASES.index(phase.name):
                _close(run)
                raise AppError(f"the {run.feature.name} feature awaited ctx.{yielded.name}() "
                               f"after ctx.{phase.name}(): await the phases in the order "
                               f"{', '.join(PHASES)}")
            run.waiting = yielded
            return
        try:
            send, throw = (yield yielded), None
        except BaseException as exc:  # the task was cancelled: into the lifespan
            send, throw = None, exc


class Lifespans:
    """Every feature's lifespan, declared in the bot's list order and driven phase by phase
    (`advance`), then stopped in the reverse order (`shutdown`)."""

    def __init__(self, runs: Sequence[_Run], built: Built) -> None:
        self._runs = tuple(runs)
        self.built = built
        self._reached = -1

    @classmethod
    def declare(
        cls,
        features: Iterable[Feature],
        settings: Settings,
        *,
        environ: Mapping[str, str] | None = None,
        adjust: Mapping[str, Callable[[FeatureContext], bool]] | None = None,
    ) -> Lifespans:
        """Each feature's declaration, on a context of its own, in order. A feature whose
        declaration fails stops the start with a ConfigError naming it; a context provider's
        name taken by two features is refused (the stored answer and the evaluation's stubs
        name it). `adjust`, by feature name: changes what the feature registered once it has
        declared (`fmbot eval`'s stubs); False: the feature is declared only, never built."""
        from bot.config import ConfigError

        built = Built()
        runs: list[_Run] = []
        names: dict[str, str] = {}
        for feature in features:
            context = FeatureContext(feature.name, settings, environ=environ, built=built)
            run = _Run(feature, context)
            try:
                if feature.lifespan is not None:
                    run.start = _started(feature.lifespan(context), run)
                    _first_step(run)
            except (AppError, ConfigError) as exc:
                raise ConfigError(f"the {feature.name} feature: {exc}") from None
            except Exception as exc:
                log.exception("the %s feature failed to set up", feature.name)
                raise ConfigError(f"the {feature.name} feature failed to set up: {exc!r}"
                                  ) from None
            context._seal()
            change = (adjust or {}).get(feature.name)
            if change is not None and not change(context):
                _close(run)
            for provider in registered(context).providers:
                if (other := names.setdefault(provider.name, feature.name)) != feature.name:
                    raise ConfigError(f"the {feature.name} feature: a context provider named "
                                      f"{provider.name!r} is the {other} feature's already")
            runs.append(run)
        return cls(runs, built)

    @property
    def registry(self) -> Registry:
        """Every feature's registrations and declarations, in the list's order."""
        from bot.plugin.registry import Registry

        return Registry(tuple(run.context._declared() for run in self._runs))

    @property
    def contexts(self) -> tuple[FeatureContext, ...]:
        return tuple(run.context for run in self._runs)

    async def advance(self, name: str, value: object) -> None:
        """Reach phase `name`: each feature waiting for it is resumed with `value`, in the
        list's order, and runs until it waits for a later phase or has started."""
        index = PHASES.index(name)
        if index <= self._reached:
            raise RuntimeError(f"phase {name} reached twice")
        self._reached = index
        for run in self._runs:
            if run.waiting is None or run.waiting.name != name:
                continue
            phase = run.waiting
            phase.value = value
            await _resume(run, phase)

    def close(self) -> None:
        """Close every lifespan still waiting for a phase (what was declared is kept): the
        bot is declared, not built (`fmbot check`, `fmbot report`, a start's preflight)."""
        for run in reversed(self._runs):
            _close(run)

    async def shutdown(self) -> None:
        """Stop every feature, in the reverse order: a lifespan still waiting for a phase is
        cancelled there (the start failed, or this bot had no Telegram front); one that
        yielded runs what follows its `yield`. A failure is logged; the others still stop."""
        for run in reversed(self._runs):
            if run.start is not None and run.waiting is not None:
                try:
                    await _resume(run, None, asyncio.CancelledError())
                except (asyncio.CancelledError, GeneratorExit, StopAsyncIteration):
                    pass
                except Exception:
                    log.exception("the %s feature failed to stop", run.feature.name)
            _close(run)
            after, run.after = run.after, None
            if after is None:
                continue
            try:
                await after.__anext__()
            except StopAsyncIteration:
                continue
            except Exception:
                log.exception("the %s feature failed to stop", run.feature.name)
                continue
            log.error("the %s feature's lifespan yielded twice", run.feature.name)
            await after.aclose()


def _close(run: _Run) -> None:
    """Close a lifespan waiting for a phase: cancelled there. Not `close()`d: a coroutine
    closes what it awaits, and the awaitable of an async generator's `__anext__`, closed,
    leaves the generator marked running (CPython 3.11), whose finalizer then fails; a
    CancelledError thrown through it ends it."""
    start, run.start, run.waiting = run.start, None, None
    if start is None:
        return
    try:
        start.throw(asyncio.CancelledError())
    except (asyncio.CancelledError, StopIteration):
        return
    except Exception:
        log.exception("the %s feature failed as it was closed", run.feature.name)
        return
    start.close()
    log.error("the %s feature's lifespan awaited again as it was closed", run.feature.name)


def declared(
    features: Iterable[Feature],
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    adjust: Mapping[str, Callable[[FeatureContext], bool]] | None = None,
) -> Registry:
    """What `features` declare, none of them built: their checks, models, report parts,
    settings checks, secrets, routers, menu commands and hooks."""
    lifespans = Lifespans.declare(features, settings, environ=environ, adjust=adjust)
    lifespans.close()
    return lifespans.registry
