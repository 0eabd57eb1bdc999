"""One registry: fmbot's features, the App (its decorators) and a plugin's feature (its
`lifespan`) register the same way, and the bot reads them in the list's order: the App's router
before the plugin's, the App's context before the plugin's, every feature's menu command in
Telegram's menu and /help; a failing or clashing setup stops the start naming the feature."""

from __future__ import annotations

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot import App, ToolContext
from bot.plugin import ConfigError, Feature, FeatureSetup
from bot.testing import BotTester


def menus(tester: BotTester) -> dict[str | None, dict[str, str]]:
    """The command menu Telegram was given last, by language."""
    return {
        call.params.get("language_code"): {
            item["command"]: item["description"] for item in call.params["commands"]
        }
        for call in tester.telegram.sent if call.method == "setMyCommands"
    }


def notes_setup(setup: FeatureSetup) -> None:
    router = Router(name="notes")

    @router.message(Command("hello"))
    async def hello(message: Message) -> None:
        await message.answer("hello from the plugin")

    @router.message(Command("note"))
    async def note(message: Message) -> None:
        await message.answer("noted")

    setup.include_router(router)
    setup.command("note", "Take a note", ru="Записать заметку")

    @setup.context(name="notes.context")
    async def plugin_context(ctx: ToolContext) -> str:
        return "PLUGIN CONTEXT"


@pytest.fixture
def app() -> App:
    app = App(env_file=None)
    router = Router(name="mine")

    @router.message(Command("hello"))
    async def hello(message: Message) -> None:
        await message.answer("hello from the app")

    app.include_router(router)
    app.command("hello", "Say hello", ru="Поздороваться")

    @app.context
    async def app_context(ctx: ToolContext) -> str:
        return "APP CONTEXT"

    app.add_feature(Feature(name="notes", lifespan=notes_setup))
    return app


async def test_the_apps_and_a_plugins_registrations_reach_the_bot_in_the_lists_order(
    app: App,
) -> None:
    async with BotTester(app) as tester:
        anna = tester.user("Anna")
        # Both routers answer /hello: the App's is first, as its feature is before the plugin's.
        assert (await anna.says("/hello")).text == "hello from the app"
        assert (await anna.says("/note")).text == "noted"
        await anna.says("What is new?")
        system = tester.model.asked[0].system
        assert system.index("APP CONTEXT") < system.index("PLUGIN CONTEXT")
        help_text = (await anna.says("/help")).text
        menu = menus(tester)
    # A feature's (/image), the App's and the plugin's commands, in both languages.
    assert {"image", "hello", "note"} <= set(menu[None])
    assert (menu[None]["hello"], menu["ru"]["hello"]) == ("Say hello", "Поздороваться")
    assert (menu[None]["note"], menu["ru"]["note"]) == ("Take a note", "Записать заметку")
    assert menu[None]["image"] == "Draw a picture"
    assert menu["ru"]["image"] == "Нарисовать картинку"
    assert "/hello - Say hello" in help_text
    assert "/note - Take a note" in help_text


async def test_a_feature_whose_setup_fails_stops_the_start_naming_it() -> None:
    def broken(setup: FeatureSetup) -> None:
        raise KeyError("x")

    app = App(env_file=None)
    app.add_feature(Feature(name="broken", lifespan=broken))
    with pytest.raises(ConfigError, match=r"the broken feature failed to set up: KeyError\('x'\)"):
        async with BotTester(app):
            pass


async def test_a_context_providers_name_is_one_features(app: App) -> None:
    @app.context(name="notes.context")
    async def same_name(ctx: ToolContext) -> str:
        return "again"

    with pytest.raises(ConfigError, match=r"'notes\.context' is the app feature's already"):
        async with BotTester(app):
            pass


def test_a_bad_menu_command_is_refused_in_a_features_setup_too() -> None:
    def bad(setup: FeatureSetup) -> None:
        setup.command("Bad Name!", "x")

    from bot.features.settings import load_settings
    from bot.plugin.lifespan import declared

    with pytest.raises(ConfigError, match=r"the bad feature: command\('bad name!'\): a menu "
                                          r"command is 1-32 characters"):
        declared([Feature(name="bad", lifespan=bad)], load_settings(None))


@pytest.mark.parametrize(("replies", "listed"), [("off", False), ("approve", True)])
def test_business_registers_its_menu_command_with_its_replies_on(
    monkeypatch: pytest.MonkeyPatch, replies: str, listed: bool
) -> None:
    """fmbot's own features register their menu commands as a plugin does: /business with
    BUSINESS_REPLIES on, /image always, their descriptions in both languages."""
    from bot.features.installed import FEATURES
    from bot.features.settings import load_settings
    from bot.plugin.lifespan import declared

    monkeypatch.setenv("BUSINESS_REPLIES", replies)
    menu = declared(FEATURES, load_settings(None)).menu
    assert menu["image"] == {"en": "Draw a picture", "ru": "Нарисовать картинку"}
    assert ("business" in menu) is listed
    if listed:
        assert menu["business"]["ru"] == (
            "Чаты бизнес-аккаунта: приостановить или возобновить ответы")
