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
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.plugin.built import Built
from bot.plugin.context import PHASES, FeatureContext, Lifespan, Phase, declarations, seal
from bot.plugin.setup import AppError, registered

if TYPE_CHECKING:
    from bot.config.composed import SettingsBase as Settings
    from bot.plugin.feature import Feature
    from bot.plugin.registry import Registry

__all__ = ["FeatureContext", "Lifespan", "Lifespans", "declared"]

log = logging.getLogger("bot")



# -- the driver ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """One feature's lifespan under way: its start (until its `yield`), the phase it waits
    for, and what follows its `yield`."""

    feature: Feature
    context: FeatureContext
    start: Coroutine[Any, Any, None] | None = None
    waiting: Phase[Any] | None = None
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
    if not isinstance(yielded, Phase):
        _close(run)
        raise AppError(f"the {run.feature.name} feature awaited {yielded!r} before its first "
                       "phase: declare first, then await `ctx.core()` to build")
    run.waiting = yielded


@types.coroutine
def _resume(run: _Run, phase: Phase[Any] | None, error: BaseException | None = None
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
        if isinstance(yielded, Phase):
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
            seal(context)
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

        return Registry(tuple(declarations(run.context) for run in self._runs))

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
