"""Menu commands: a bad name is refused where it is declared, in one line naming the command
and the rule; a name described twice is refused like a duplicate tool; and at start one bad
entry never costs the rest of the menu (fmbot's own commands always reach it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot import App, AppError
from bot.app import parts_of
from bot.telegram.startup import make_bot, set_commands
from tests.fakes.telegram.server import TelegramServer

TOKEN = "42:MENU"


@pytest.mark.parametrize("name", ["Bad Name!", "", "x" * 33, "привет", "with-dash"])
def test_a_bad_command_name_is_refused_when_declared(name: str) -> None:
    app = App(env_file=None)
    with pytest.raises(AppError, match=r"1-32 characters of a-z, 0-9 and _") as refused:
        app.command(name, "x")
    assert "\n" not in str(refused.value)


def test_an_empty_or_long_description_is_refused() -> None:
    app = App(env_file=None)
    with pytest.raises(AppError, match="description"):
        app.command("ping", "")
    with pytest.raises(AppError, match="description"):
        app.command("ping", "ok", ru="я" * 257)


def test_a_command_described_twice_is_refused() -> None:
    app = App(env_file=None)
    app.command("ping", "Check the bot")
    with pytest.raises(AppError, match="/ping is already described"):
        app.command("/Ping", "Another")
    assert [d["en"] for d in parts_of(app).registrations.menu.values()] == ["Check the bot"]


def test_a_router_command_can_still_be_described_once() -> None:
    router = Router(name="extra")

    @router.message(Command("order"))
    async def cmd_order(message: Message) -> None:
        """Look up an order"""

    app = App(env_file=None)
    app.include_router(router)
    app.command("order", "Find your order", ru="Найти заказ")
    menu = parts_of(app).registrations.menu
    assert [(name, d["en"]) for name, d in menu.items()] == [("order", "Find your order")]


def test_a_router_command_telegram_cannot_show_is_left_out_of_the_menu() -> None:
    router = Router(name="odd")

    @router.message(Command("Odd-One"))
    async def cmd_odd(message: Message) -> None:
        """Odd"""

    app = App(env_file=None)
    app.include_router(router)
    assert parts_of(app).registrations.menu == {}


@pytest.fixture
async def tg() -> AsyncIterator[TelegramServer]:
    async with TelegramServer(TOKEN) as server:
        yield server


async def test_one_bad_entry_never_costs_the_rest_of_the_menu(tg: TelegramServer) -> None:
    bot = make_bot(TOKEN, tg.url)
    try:
        await set_commands(bot, {
            "Bad Name!": {"en": "bad", "ru": "плохо"},
            "ping": {"en": "Check the bot", "ru": "Проверить бота"},
        })
    finally:
        await bot.session.close()
    for language in ("", "ru"):
        menu = [c["command"] for c in tg.commands[("[('type', 'default')]", language)]]
        assert "help" in menu, language
        assert "ping" in menu, language
        assert "Bad Name!" not in menu
