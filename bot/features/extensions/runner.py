"""Runs what a developer added around a turn, so that it never breaks the turn.

Context providers run concurrently, each bounded by `timeout`: one that raises or does not
answer in time is left out and logged by name, the others' text is used. Hooks run in tasks of
their own (an answer is never held back by its `on_answer` hook), each bounded by `timeout`;
a failure is logged by name. `aclose` gives the hooks still running a grace period at shutdown.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from bot.plugin.extending import LifecycleHook, NamedProvider, RunContext, ToolContext, name_of

# NamedProvider and name_of are the extension API's (bot/extending/hooks.py), named here too.
__all__ = ["ContextFragment", "ExtensionRunner", "NamedProvider", "name_of", "run_lifecycle",
           "takes_context"]

log = logging.getLogger(__name__)

E = TypeVar("E")
Hook = Callable[[E], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ContextFragment:
    """Text a provider gave for one turn's system prompt."""

    provider: str
    text: str


class ExtensionRunner:
    """Context providers and hooks of one App, run safely (see the module docstring)."""

    def __init__(
        self,
        *,
        providers: Sequence[NamedProvider] = (),
        on_answer: Sequence[Hook[Any]] = (),
        on_handoff: Sequence[Hook[Any]] = (),
        timeout: float = 5.0,
    ) -> None:
        self.providers = tuple(providers)
        self.on_answer = tuple(on_answer)
        self.on_handoff = tuple(on_handoff)
        self.timeout = timeout
        self._hooks: set[asyncio.Task[None]] = set()

    def __bool__(self) -> bool:
        return bool(self.providers or self.on_answer or self.on_handoff)

    async def context(self, ctx: ToolContext) -> list[ContextFragment]:
        """Every provider's text for this turn, in the providers' order; failures left out."""
        if not self.providers:
            return []
        tasks = [
            asyncio.create_task(_text_of(p, ctx), name=f"context:{p.name}")
            for p in self.providers
        ]
        _, pending = await asyncio.wait(tasks, timeout=self.timeout)
        fragments = []
        for provider, task in zip(self.providers, tasks, strict=True):
            if task in pending:
                task.cancel()
                log.warning(
                    "context provider %s did not answer within %g s; the turn goes on "
                    "without it", provider.name, self.timeout,
                )
                continue
            error = task.exception()
            if error is not None:
                log.error(
                    "context provider %s failed; the turn goes on without it: %r",
                    provider.name, error, exc_info=error,
                )
                continue
            text = task.result()
            if text:
                fragments.append(ContextFragment(provider.name, text))
        return fragments

    def answered(self, event: object) -> None:
        """Start the `on_answer` hooks for `event` (returns at once)."""
        self._fire("on_answer", self.on_answer, event)

    def handed_over(self, event: object) -> None:
        """Start the `on_handoff` hooks for `event` (returns at once)."""
        self._fire("on_handoff", self.on_handoff, event)

    def _fire(self, kind: str, hooks: Sequence[Hook[Any]], event: object) -> None:
        for hook in hooks:
            task = asyncio.create_task(self._run_hook(kind, hook, event), name=f"{kind}")
            self._hooks.add(task)
            task.add_done_callback(self._hooks.discard)

    async def _run_hook(self, kind: str, hook: Hook[Any], event: object) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await hook(event)
        except TimeoutError:
            log.warning("%s hook %s did not finish within %g s; cancelled",
                        kind, name_of(hook), self.timeout)
        except Exception as exc:
            log.error("%s hook %s failed: %r", kind, name_of(hook), exc, exc_info=exc)

    async def wait_idle(self) -> None:
        """Until the hooks started so far have finished (tests, shutdown)."""
        while self._hooks:
            await asyncio.wait(set(self._hooks))

    async def aclose(self, grace: float = 2.0) -> None:
        """Let running hooks finish for `grace` seconds, then cancel them."""
        if not self._hooks:
            return
        _, pending = await asyncio.wait(set(self._hooks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


async def _text_of(provider: NamedProvider, ctx: ToolContext) -> str | None:
    text = await provider.function(ctx)
    if text is not None and not isinstance(text, str):
        raise TypeError(f"returned {type(text).__name__}, not str or None")
    return text.strip() if text else None


def takes_context(hook: object) -> bool:
    """Whether a lifecycle hook takes the `RunContext` (one parameter) or nothing."""
    try:
        parameters = inspect.signature(hook).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return len(parameters) == 1


async def run_lifecycle(
    kind: str, hooks: Sequence[LifecycleHook], limit: float, context: RunContext
) -> None:
    """`on_startup` / `on_shutdown` hooks, one after the other, each bounded by `limit` seconds;
    a failure is logged and the next one runs. A hook that takes an argument gets `context`."""
    for hook in hooks:
        try:
            async with asyncio.timeout(limit):
                if takes_context(hook):
                    await cast(Callable[[RunContext], Awaitable[None]], hook)(context)
                else:
                    await cast(Callable[[], Awaitable[None]], hook)()
        except TimeoutError:
            log.warning("%s hook %s did not finish within %g s; cancelled",
                        kind, name_of(hook), limit)
        except Exception as exc:
            log.error("%s hook %s failed: %r", kind, name_of(hook), exc, exc_info=exc)
