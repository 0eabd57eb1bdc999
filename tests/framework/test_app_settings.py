"""An App built from a `Settings` object runs on those settings; one built without reads the
environment when it starts. What an App holds is not on its public face."""

from __future__ import annotations

import pytest

from bot import App, Settings
from bot.app import parts_of


def test_an_app_built_from_settings_runs_on_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:from-the-environment")
    given = Settings(_env_file=None, telegram_bot_token="1:given", yandex_folder_id="f")
    app = App(settings=given)
    assert app.settings is given
    assert parts_of(app).settings is given  # what the command line and the wiring read
    from_env = App(env_file=None)
    assert from_env.settings.telegram_bot_token is not None
    assert from_env.settings.telegram_bot_token.get_secret_value() == "1:from-the-environment"


def test_what_an_app_holds_is_not_on_its_public_face() -> None:
    app = App(env_file=None)
    for internal in ("providers", "answer_hooks", "handoff_hooks", "migration_folders",
                     "tool_sources", "startup_hooks", "shutdown_hooks", "routers", "commands",
                     "migrations"):
        assert not hasattr(app, internal), internal
    assert hasattr(parts_of(app), "registrations")


async def test_lifecycle_hooks_that_ask_get_the_bot_and_its_settings() -> None:
    from aiogram import Bot

    from bot import RunContext
    from bot.testing import BotTester, ScriptedModel

    app = App(env_file=None)
    seen: list[tuple[object, ...]] = []

    @app.on_startup
    async def started(ctx: RunContext) -> None:
        me = await ctx.bot.get_me()
        seen.append(("started", isinstance(ctx.bot, Bot), me.is_bot, ctx.settings.text_model))

    @app.on_startup
    async def plain() -> None:  # hooks that take nothing still run
        seen.append(("plain",))

    @app.on_shutdown
    async def stopped(ctx: RunContext) -> None:
        seen.append(("stopped", ctx.bot.id))

    async with BotTester(app, model=ScriptedModel()) as tester:
        assert seen == [("started", True, True, tester.settings.text_model), ("plain",)]
    stop, bot_id = seen[-1]
    assert stop == "stopped"
    assert isinstance(bot_id, int)


def test_a_lifecycle_hook_taking_two_arguments_is_refused() -> None:
    from bot import AppError

    app = App(env_file=None)

    async def two(a: object, b: object) -> None: ...

    with pytest.raises(AppError, match="takes nothing or one RunContext"):
        app.on_startup(two)  # type: ignore[type-var]
