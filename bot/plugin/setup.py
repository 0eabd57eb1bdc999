"""What a feature registers (on its `FeatureContext`, lifespan.py, a `FeatureSetup`) and the
App registers (its decorators are these methods, on the App's own): routers, menu commands,
context providers, Python tools, and the hooks around a turn and around the bot's life. The
composition root reads every feature's registrations in the list's order (registry.py).

```python
async def lifespan(ctx: FeatureContext) -> None:
    settings = ctx.section(HelpdeskSettings)
    ctx.include_router(router)
    ctx.command("whoami", "Who I am", ru="Кто я")

    @ctx.tool(confirm=True)
    async def open_ticket(tool: ToolContext, summary: str) -> str: ...
```
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, overload

from bot.extending.hooks import AnswerHook, HandoffHook, LifecycleHook, NamedProvider, name_of
from bot.extending.tools import ToolContext, ToolSource
from bot.menu import commands_of, menu_entry_problem

if TYPE_CHECKING:
    from aiogram import Router

    from bot.config.composed import SettingsBase as Settings
    from bot.config.parsing import Section
    from bot.extending.functions import FunctionTools

__all__ = ["AppError", "FeatureSetup", "Menu", "Registrations", "registered", "replay"]

log = logging.getLogger("bot")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
ContextProvider = Callable[[ToolContext], Awaitable[str | None]]
CP = TypeVar("CP", bound=ContextProvider)
AH = TypeVar("AH", bound=AnswerHook)
HH = TypeVar("HH", bound=HandoffHook)
LH = TypeVar("LH", bound=LifecycleHook)
T = TypeVar("T", bound="Section")

#: Menu commands: name -> description by language (`en`, `ru`), as Telegram's menu, /help
#: and the desk's list take them.
Menu = dict[str, dict[str, str]]


class AppError(Exception):
    """A part that cannot be added (a sync function, a clashing name, an unknown plugin...);
    the message says what to change."""


@dataclass(slots=True)
class Registrations:
    """What one feature registered, each kind in the order it was registered."""

    feature: str
    routers: list[Router] = field(default_factory=list)
    menu: Menu = field(default_factory=dict)
    described: set[str] = field(default_factory=set)  # named by `command`, not by a router
    providers: list[NamedProvider] = field(default_factory=list)
    tool_sources: list[ToolSource] = field(default_factory=list)
    startup_hooks: list[LifecycleHook] = field(default_factory=list)
    shutdown_hooks: list[LifecycleHook] = field(default_factory=list)
    answer_hooks: list[AnswerHook] = field(default_factory=list)
    handoff_hooks: list[HandoffHook] = field(default_factory=list)


class FeatureSetup:
    """The registrations: what a feature's `FeatureContext` adds them with (its own, one per
    feature), and what `bot.App` is (its decorators register on the App's own). Each method
    checks what it is given and refuses it with an `AppError` saying what to change."""

    def __init__(self, feature: str, settings: Settings | None = None) -> None:
        self._registrations = Registrations(feature)
        self._given = settings
        self._functions: FunctionTools | None = None  # made on the first tool

    def _own(self) -> Registrations:
        """Where a registration goes (a feature's context refuses it once declared)."""
        return self._registrations

    # -- settings ------------------------------------------------------------------------------

    def section(self, model: type[T]) -> T:
        """The feature's own settings section (`Feature.settings`), typed, as the bot's
        settings read it."""
        if self._given is None:
            raise AppError(f"the {self._registrations.feature} feature is set up without "
                           "settings: read its section where the bot gives them")
        return self._given.section(model)

    # -- Telegram ------------------------------------------------------------------------------

    def include_router(self, router: Router) -> Router:
        """Add a plain aiogram router. Its handlers run before the model's chat handler,
        inside fmbot's middlewares (access lists, rate limits, the durable queue, one
        database session per update as `session`), and its `message.answer` calls are paced
        like fmbot's own. Its commands join Telegram's command menu, described by `command`
        or else by the first line of the handler's docstring."""
        own = self._own()
        if router in own.routers:
            raise AppError(f"router {router.name!r} is already included")
        own.routers.append(router)
        for command, doc in commands_of(router):
            problem = menu_entry_problem(command, doc)
            if problem:  # the handler still answers it; Telegram's menu cannot show it
                log.warning("router %r: /%s is left out of the menu: %s", router.name, command,
                            problem)
                continue
            own.menu.setdefault(command, {"en": doc, "ru": doc})
        return router

    def command(self, name: str, description: str, *, ru: str | None = None) -> None:
        """Describe a command for Telegram's menu and /help (English, and Russian with `ru`).

        The name is what Telegram accepts in a menu: 1-32 of `a-z`, `0-9` and `_` (a leading
        slash is dropped); the descriptions 1-256 characters. A name described twice is
        refused, as a tool or a context provider is."""
        name = name.lstrip("/").lower()
        problem = menu_entry_problem(name, description) or (
            menu_entry_problem(name, ru) if ru is not None else None
        )
        if problem:
            raise AppError(f"command({name!r}): {problem}")
        own = self._own()
        if name in own.described:
            raise AppError(f"command({name!r}): the command /{name} is already described")
        own.described.add(name)
        own.menu[name] = {"en": description, "ru": ru or description}

    # -- tools and context -------------------------------------------------------------------

    @overload
    def tool(self, function: F, /) -> F: ...

    @overload
    def tool(
        self,
        function: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        confirm: bool = False,
        admins_only: bool = False,
        writes: bool | None = None,
        timeout: float = 10.0,
        title: str = "",
        title_ru: str = "",
        business: bool = False,
        groups: Sequence[str] = (),
        approvers: str | int | None = None,
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        function: Any = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        confirm: bool = False,
        admins_only: bool = False,
        writes: bool | None = None,
        timeout: float = 10.0,
        title: str = "",
        title_ru: str = "",
        business: bool = False,
        groups: Sequence[str] = (),
        approvers: str | int | None = None,
    ) -> Any:
        """Offer an async function to the model as a tool.

        The arguments' JSON Schema comes from the type hints, the description from the
        docstring; a first parameter annotated `ToolContext` is filled by fmbot (who asks,
        the idempotency key) and never shown to the model. `confirm=True` for a tool that
        writes: each call waits for the user's press on a stored pending call. `writes`
        (default: `confirm`) marks a side effect: after a crash with the outcome unknown it
        is repeated only with the same idempotency key. `timeout`: seconds a call may take.
        `title` / `title_ru`: the action as the confirmation card names it to the user, in
        English and Russian (the description is written for the model); default: the name.
        `business=True`: offered in business chats too (customers of an account connected
        to the bot), where every other tool is closed; only for a tool that neither writes
        nor needs a press. `groups`: the company groups (a signed-in employee's, issue 81)
        whose members alone are offered it and may run it, in private chats. `approvers`:
        `"group:NAME"` or a chat id: each call waits for the press of one of them (never the
        asker's), as docs/helpdesk.md says.
        """

        def register(fn: F) -> F:
            self._function_tools().add(
                fn, name=name, description=description, confirm=confirm,
                admins_only=admins_only, writes=writes, timeout_s=timeout, title=title,
                title_ru=title_ru, business=business, groups=groups, approvers=approvers,
            )
            return fn

        return register(function) if function is not None else register

    def add_tool_source(self, source: ToolSource) -> None:
        """Add a whole tool source (HTTP actions, an MCP server, a plugin's own)."""
        self._own().tool_sources.append(source)

    def _function_tools(self) -> FunctionTools:
        # One source of Python functions per feature, named after it, first of its sources.
        own = self._own()
        if self._functions is None:
            from bot.extending.functions import FunctionTools

            self._functions = FunctionTools(self._registrations.feature)
            own.tool_sources.insert(0, self._functions)
        return self._functions

    @overload
    def context(self, function: CP, /) -> CP: ...

    @overload
    def context(self, function: None = None, /, *, name: str | None = None) -> Callable[[CP], CP]:
        ...

    def context(self, function: Any = None, /, *, name: str | None = None) -> Any:
        """Add a context provider: an async function of a `ToolContext` returning text for
        the system prompt of every turn (or None for nothing this turn).

        Providers run concurrently; one that raises or takes longer than
        EXTENSION_TIMEOUT is left out of that turn (and logged); text that does not fit in
        the prompt's budget is left out too. The stored answer records which providers
        contributed (`messages.context_providers`).
        """

        def register(fn: CP) -> CP:
            require_async(fn, "a context provider")
            label = name or getattr(fn, "__name__", "") or name_of(fn)
            if any(p.name == label for p in self._own().providers):
                raise AppError(f"a context provider named {label!r} is already added: give "
                               "this one another with context(name=...)")
            self._own().providers.append(NamedProvider(label, fn))
            return fn

        return register(function) if function is not None else register

    # -- hooks ---------------------------------------------------------------------------------

    def on_startup(self, hook: LH) -> LH:
        """Run `hook()`, or `hook(ctx)` with a `RunContext` (the aiogram `Bot`, the settings),
        once the bot has started, before the first update is handled."""
        self._own().startup_hooks.append(lifecycle_hook(hook, "an on_startup hook"))
        return hook

    def on_shutdown(self, hook: LH) -> LH:
        """Run `hook()`, or `hook(ctx)` with a `RunContext`, when the bot stops, after the last
        answer."""
        self._own().shutdown_hooks.append(lifecycle_hook(hook, "an on_shutdown hook"))
        return hook

    def on_answer(self, hook: AH) -> AH:
        """Run `hook(event)` after every turn, with an `AnswerEvent` (in a task of its own:
        the answer is not held back by it)."""
        self._own().answer_hooks.append(require_async(hook, "an on_answer hook"))
        return hook

    def on_handoff(self, hook: HH) -> HH:
        """Run `hook(event)` when a conversation is handed to a person (support desk), with
        a `HandoffEvent`."""
        self._own().handoff_hooks.append(require_async(hook, "an on_handoff hook"))
        return hook


def registered(setup: FeatureSetup) -> Registrations:
    """What was registered on `setup` (the composition root's read; not on the public App)."""
    return setup._registrations


def replay(done: Registrations, onto: FeatureSetup) -> None:
    """Register on `onto` what `done` holds (checked already where it was registered): how
    the App's own feature gives the composition root what its decorators registered."""
    own = registered(onto)
    own.routers += done.routers
    own.menu.update(done.menu)
    own.described |= done.described
    own.providers += done.providers
    own.tool_sources += done.tool_sources
    own.startup_hooks += done.startup_hooks
    own.shutdown_hooks += done.shutdown_hooks
    own.answer_hooks += done.answer_hooks
    own.handoff_hooks += done.handoff_hooks


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

