"""The public API: an `App` is fmbot's bot plus what a developer or a plugin adds to it.

```python
from bot import App, ToolContext

app = App.from_env()          # exactly today's bot, configured from the environment / .env

@app.tool
async def order_status(ctx: ToolContext, order_id: str) -> dict[str, str]:
    \"\"\"Look up the status of an order by its number.\"\"\"
    ...
```

Run it with `python -m bot run --app mybot:app`. Everything registered here runs inside fmbot's
guarantees: routers behind the access lists, rate limits and the durable queue, hooks and
context providers bounded by a timeout and never able to break a turn. What an App holds and
how fmbot reads it: parts.py; installed plugins: plugins.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from pydantic import ValidationError

from bot.app.parts import (
    AH,
    CP,
    HH,
    LH,
    AnswerHook,
    AppError,
    AppParts,
    ContextProvider,
    F,
    HandoffHook,
    Migrations,
    S,
    lifecycle_hook,
    require_async,
)
from bot.app.plugins import PLUGIN_GROUP
from bot.extending.hooks import LifecycleHook, NamedProvider, name_of
from bot.menu import MenuCommand, commands_of, menu_entry_problem

if TYPE_CHECKING:
    from aiogram import Router

    from bot.extending.tools import ToolSource
    from bot.features.settings import Settings
    from bot.plugin.feature import Feature

# The App, and the names its methods' signatures use (from bot.app, as before the split).
__all__ = ["PLUGIN_GROUP", "AnswerHook", "App", "AppError", "ContextProvider", "HandoffHook",
           "LifecycleHook", "Migrations"]

log = logging.getLogger("bot")


class App:
    """fmbot's bot, and the parts added to it (tools, context, routers, commands, hooks).

    Build it with `App.from_env()` (the configuration is read when the bot starts, so a module
    defining an `App` imports without a `.env`), or from a `Settings` object:
    `App(settings=Settings(telegram_bot_token=..., yandex_folder_id=...))`.
    """

    def __init__(
        self, *, settings: Settings | None = None, env_file: str | Path | None = ".env"
    ) -> None:
        """An App configured by `settings`, else from the environment and `env_file` (None:
        the environment only) when the bot starts."""
        self._parts = AppParts(self, env_file=env_file, settings=settings)
        self._running: tuple[asyncio.Task[None], asyncio.Event] | None = None

    @classmethod
    def from_env(cls, env_file: str | Path | None = ".env") -> App:
        """The whole bot that `python -m bot run` starts, configured from the environment and
        `.env` (see `.env.example`); nothing is read until the bot starts."""
        return cls(env_file=env_file)

    # -- configuration ---------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """fmbot's settings: those given, or read from the environment on first use (raises
        `ConfigError` naming the variable)."""
        return self._parts.settings

    def load_settings(self, model: type[S]) -> S:
        """Read a plugin's or developer's own settings from the environment and the App's
        `.env`: a `bot.plugin.Section` (each field naming its variable; the section a
        plugin's `Feature.settings` declares, composed into the bot's settings) or a
        pydantic-settings model with its own `env_prefix`. A missing or invalid value stops
        the start with a line naming each variable."""
        from bot.config import ConfigError
        from bot.config.parsing import Section

        if isinstance(model, type) and issubclass(model, Section):
            from bot.features.settings import SectionOf, SettingsBase, compose, load_settings

            self._parts.read_by(model)
            composed = compose([SectionOf(model.__name__.lower(), model)], SettingsBase)
            return load_settings(self._parts.env_file, composed).section(model)

        self._parts.read_by(model)  # its variables are not misspellings of fmbot's
        try:
            return model(_env_file=self._parts.env_file)
        except ValidationError as exc:
            first = exc.errors()[0]
            prefix = str(model.model_config.get("env_prefix") or "")
            field = str(first["loc"][0]) if first["loc"] else "settings"
            raise ConfigError(f"{(prefix + field).upper()}: {first['msg']}") from None

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
        nor needs a press.
        """
        def register(fn: F) -> F:
            self._parts.function_tools().add(
                fn,
                name=name,
                description=description,
                confirm=confirm,
                admins_only=admins_only,
                writes=writes,
                timeout_s=timeout,
                title=title,
                title_ru=title_ru,
                business=business,
            )
            return fn

        return register(function) if function is not None else register

    def add_tool_source(self, source: ToolSource) -> None:
        """Add a whole tool source (HTTP actions, an MCP server, a plugin's own)."""
        self._parts._tool_sources.append(source)

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
            if any(p.name == label for p in self._parts._providers):
                raise AppError(
                    f"a context provider named {label!r} is already added: give this one "
                    "another with @app.context(name=...)"
                )
            self._parts._providers.append(NamedProvider(label, fn))
            return fn

        return register(function) if function is not None else register

    # -- Telegram ------------------------------------------------------------------------------

    def include_router(self, router: Router) -> Router:
        """Add a plain aiogram router. Its handlers run before the model's chat handler,
        inside fmbot's middlewares (access lists, rate limits, the durable queue, one
        database session per update as `session`), and its `message.answer` calls are paced
        like fmbot's own. Its commands join Telegram's command menu, described by
        `App.command` or else by the first line of the handler's docstring."""
        parts = self._parts
        if router in parts._routers:
            raise AppError(f"router {router.name!r} is already included")
        parts._routers.append(router)
        for command, doc in commands_of(router):
            problem = menu_entry_problem(command, doc)
            if problem:  # the handler still answers it; Telegram's menu cannot show it
                log.warning("router %r: /%s is left out of the menu: %s", router.name, command,
                            problem)
                continue
            parts._commands.setdefault(command, MenuCommand(command, doc))
        return router

    def command(self, name: str, description: str, *, ru: str | None = None) -> None:
        """Describe a command for Telegram's menu (English, and Russian with `ru`).

        The name is what Telegram accepts in a menu: 1-32 of `a-z`, `0-9` and `_` (a leading
        slash is dropped); the descriptions 1-256 characters. A name described twice is
        refused, as a tool or a context provider is."""
        name = name.lstrip("/").lower()
        problem = menu_entry_problem(name, description) or (
            menu_entry_problem(name, ru) if ru is not None else None
        )
        if problem:
            raise AppError(f"app.command({name!r}): {problem}")
        parts = self._parts
        if name in parts._described:
            raise AppError(f"app.command({name!r}): the command /{name} is already described")
        parts._described.add(name)
        parts._commands[name] = MenuCommand(name, description, ru)

    # -- hooks ---------------------------------------------------------------------------------

    def on_startup(self, hook: LH) -> LH:
        """Run `hook()`, or `hook(ctx)` with a `RunContext` (the aiogram `Bot`, the settings),
        once the bot has started, before the first update is handled."""
        self._parts._on_startup.append(lifecycle_hook(hook, "an on_startup hook"))
        return hook

    def on_shutdown(self, hook: LH) -> LH:
        """Run `hook()`, or `hook(ctx)` with a `RunContext`, when the bot stops, after the last
        answer."""
        self._parts._on_shutdown.append(lifecycle_hook(hook, "an on_shutdown hook"))
        return hook

    def on_answer(self, hook: AH) -> AH:
        """Run `hook(event)` after every turn, with an `AnswerEvent` (in a task of its own:
        the answer is not held back by it)."""
        self._parts._on_answer.append(require_async(hook, "an on_answer hook"))
        return hook

    def on_handoff(self, hook: HH) -> HH:
        """Run `hook(event)` when a conversation is handed to a person (support desk), with
        a `HandoffEvent`."""
        self._parts._on_handoff.append(require_async(hook, "an on_handoff hook"))
        return hook

    # -- plugins ---------------------------------------------------------------------------------

    def add_migrations(self, name: str, folder: str | Path) -> None:
        """Apply a plugin's own Alembic migrations (revision files in `folder`, their ids
        `<name>_0001`, `<name>_0002`...) with `migrate` and `run`: a branch of its own beside
        fmbot's history, upgraded with it and tracked in `alembic_version` (docs/extending.md,
        "Tables of its own")."""
        if not name.isidentifier():
            raise AppError(f"migrations name {name!r} must be a Python identifier")
        path = Path(folder)
        if not path.is_dir():
            raise AppError(f"migrations folder {path} does not exist")
        self._parts._migrations.append(Migrations(name, path))

    def add_feature(self, feature: Feature) -> None:
        """Add a whole feature, built the way fmbot's own are (bot.Feature: its settings, its
        lines in `fmbot check` and `fmbot report`, its parts of a turn and on Telegram), after
        fmbot's; its `setup` runs on this App now. A plugin's entry point may return one."""
        self._parts.add_feature(feature, self)

    def use_plugins(self, names: str | list[str]) -> None:
        """Set up installed plugins by name (entry points of the group `fmbot.plugins`);
        `FMBOT_PLUGINS` does this at start. An unknown name is refused with the list of
        installed plugins."""
        self._parts.use_plugins(names)

    @property
    def plugins(self) -> tuple[str, ...]:
        """The plugins set up so far, by name."""
        return self._parts.plugins

    @property
    def evaluating(self) -> bool:
        """Whether `fmbot eval` runs this App: every user is a simulated customer, so a
        router's handler that would reach a real system (a CRM, a ticket desk) should not.
        Its hooks, context providers and plugins' features are kept from running already
        (docs/evaluation.md, "What runs")."""
        return self._parts.evaluating

    def run(self) -> None:
        """Run the bot (`python mybot.py`): the same as `python -m bot run --app`."""
        from bot.cli.dispatch import run_app

        raise SystemExit(run_app(self._parts, ["run"]))

    async def __aenter__(self) -> App:
        """Start the bot inside the running program, in its event loop:

            async with app:
                await other_work()   # the bot answers meanwhile

        The same bot as `run()`, without taking the process over: no signal handlers, no
        logging set-up, the program's own event loop. Returns once the bot takes updates
        (polling, or the webhook registered); a bad setting raises `ConfigError` here.
        Leaving the block stops it gracefully (answers under way finish, as on SIGTERM); a
        failure of the bot while it ran is raised there."""
        if self._running is not None:
            raise AppError("this App is running already")
        from bot.features.installed import bot_features
        from bot.wiring import run_bot
        from bot.wiring.preflight import validate, validate_features

        settings = self._parts.settings
        validate(settings, "run", bot_features(self._parts.features))
        system_prompt = settings.resolved_system_prompt()
        wanted = [n for n in settings.fmbot_plugins.split(",") if n.strip()]
        checked = len(self._parts.features)
        self._parts.use_plugins([n for n in wanted if n.strip() not in self.plugins])
        # The plugins' features' checks of their settings, as `validate` ran the others'.
        validate_features(settings, "run", self._parts.features[checked:])
        stop, started = asyncio.Event(), asyncio.Event()
        running = asyncio.create_task(
            run_bot(settings, system_prompt, app=self._parts, stop=stop, started=started),
            name="fmbot",
        )
        ready = asyncio.create_task(started.wait())
        try:
            await asyncio.wait({running, ready}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # the caller gave up waiting: nothing keeps running
            stop.set()
            running.cancel()
            raise
        finally:
            ready.cancel()
        if running.done():
            running.result()  # what stopped it at start (a rejected token, a refused key...)
            raise AppError("the bot stopped as it started")
        self._running = (running, stop)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._running is None:
            return
        running, stop = self._running
        self._running = None
        stop.set()
        await running




def parts_of(app: App) -> AppParts:
    """What `app` holds, for fmbot's command line, wiring and bot.testing (internal)."""
    return app._parts
