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
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from bot.app.parts import AppError, AppParts, Migrations, S
from bot.app.plugins import PLUGIN_GROUP
from bot.extending.hooks import AnswerHook, HandoffHook, LifecycleHook
from bot.plugin.setup import ContextProvider, FeatureSetup

if TYPE_CHECKING:
    from bot.config.parsing import Section
    from bot.features.settings import Settings
    from bot.plugin.feature import Feature

# The App, and the names its methods' signatures use (from bot.app, as before the split).
__all__ = ["PLUGIN_GROUP", "AnswerHook", "App", "AppError", "ContextProvider", "HandoffHook",
           "LifecycleHook", "Migrations"]

T = TypeVar("T", bound="Section")


class App(FeatureSetup):
    """fmbot's bot, and the parts added to it (tools, context, routers, commands, hooks).

    The App is a feature like fmbot's own and a plugin's: its decorators (`tool`, `context`,
    `include_router`, `command`, `on_startup`, `on_shutdown`, `on_answer`, `on_handoff`:
    `bot.plugin.FeatureSetup`'s) register on its own registration context, which becomes
    the feature named "app", after fmbot's and before its plugins'.

    Build it with `App.from_env()` (the configuration is read when the bot starts, so a module
    defining an `App` imports without a `.env`), or from a `Settings` object:
    `App(settings=Settings(telegram_bot_token=..., yandex_folder_id=...))`.
    """

    def __init__(
        self, *, settings: Settings | None = None, env_file: str | Path | None = ".env"
    ) -> None:
        """An App configured by `settings`, else from the environment and `env_file` (None:
        the environment only) when the bot starts."""
        super().__init__("app")
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

    def section(self, model: type[T]) -> T:
        """A section of the bot's settings (fmbot's, or one its added features declare)."""
        return self.settings.section(model)

    # -- plugins ---------------------------------------------------------------------------------

    def add_migrations(self, name: str, folder: str | Path) -> None:
        """Apply a plugin's own Alembic migrations (revision files in `folder`, their ids
        `<name>_0001`, `<name>_0002`...) with `migrate` and `run`: a branch of its own beside
        fmbot's history, upgraded with it and tracked in `alembic_version` (docs/extending.md,
        "Tables of its own")."""
        self._parts.add_migrations(name, folder)

    def add_feature(self, feature: Feature) -> None:
        """Add a whole feature, built the way fmbot's own are (bot.Feature: its settings, its
        registrations, its lines in `fmbot check` and `fmbot report`, its parts of a turn and
        on Telegram), after fmbot's and the App's own; its `setup` runs on a registration
        context of its own when the bot is built. An installed plugin's entry point is one."""
        self._parts.add_feature(feature)

    def use_plugins(self, names: str | list[str]) -> None:
        """Add installed plugins' features by name (entry points of the group
        `fmbot.plugins`); `FMBOT_PLUGINS` does this at start. An unknown name is refused
        with the list of installed plugins."""
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
