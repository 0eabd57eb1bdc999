"""Bot API calls around start and stop: reaching Telegram, the command menu, signals.

Start-up calls wait out what a restart commonly meets (a network blip, a flood reply to
setWebhook/setMyCommands) instead of failing the whole process; a rejected token fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TypeVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SetMyCommands, TelegramMethod
from aiogram.types import BotCommand

from bot.menu import menu_entry_problem
from bot.telegram.responsetypes import PinResponseTypes
from bot.telegram.shutdownwatch import watch_shutdown
from bot.telegram.texts import COMMANDS, LANGUAGES

log = logging.getLogger(__name__)
T = TypeVar("T")
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TokenRejectedError(Exception):
    """Telegram answered 401 to the bot token."""


def make_bot(token: str, api_url: str = "https://api.telegram.org") -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    session.middleware(PinResponseTypes())
    return Bot(token, session=session)


async def reach_telegram(bot: Bot, max_delay: float = 30.0) -> None:
    """getMe until Telegram answers (an outage at start is waited out, with backoff);
    a rejected token raises TokenRejectedError at once."""
    delay = 1.0
    while True:
        try:
            me = await bot.me()
        except TelegramUnauthorizedError as exc:
            raise TokenRejectedError(str(exc)) from None
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            log.warning("Telegram is not reachable (%s); retrying in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        log.info("bot @%s (id %s) starting", me.username, me.id)
        return


def menu_of(extra: dict[str, dict[str, str]], language: str) -> list[BotCommand]:
    """fmbot's commands, then the App's (`extra`: name -> descriptions by language); an App
    command of the same name as one of fmbot's replaces its description. An entry Telegram
    would refuse is left out (logged), so it cannot cost the rest of the menu."""
    merged = {**COMMANDS, **extra}
    menu = []
    for command, descriptions in merged.items():
        problem = menu_entry_problem(command, descriptions[language])
        if problem:
            log.warning("the menu leaves out /%s (%s): %s", command, language, problem)
            continue
        menu.append(BotCommand(command=command, description=descriptions[language]))
    return menu


async def set_commands(bot: Bot, extra: dict[str, dict[str, str]] | None = None) -> None:
    """The command menu in English (every language without its own list) and Russian.
    A failure here is logged: the bot works without a menu. If Telegram refuses the whole
    list for an entry of the App's, fmbot's own commands are set without them."""
    for language in LANGUAGES:
        code = None if language == "en" else language
        menus = [menu_of(extra or {}, language)]
        if extra:
            menus.append(menu_of({}, language))
        for attempt, menu in enumerate(menus):
            try:
                await patiently(bot, SetMyCommands(commands=menu, language_code=code))
            except TelegramBadRequest as exc:
                if attempt + 1 < len(menus):
                    log.warning("setMyCommands (%s) refused the App's commands (%s); the menu "
                                "keeps fmbot's own", language, exc.message)
                    continue
                log.warning("setMyCommands (%s) failed: %s", language, exc)
            except TelegramAPIError as exc:
                log.warning("setMyCommands (%s) failed: %s", language, exc)
            break


async def patiently(bot: Bot, method: TelegramMethod[T], attempts: int = 5) -> T:
    """A start-up call: flood replies and network errors are waited out a few times."""
    for attempt in range(1, attempts + 1):
        try:
            return await bot(method)
        except TelegramRetryAfter as exc:
            if attempt == attempts:
                raise
            await asyncio.sleep(exc.retry_after)
        except (TelegramNetworkError, TelegramServerError):
            if attempt == attempts:
                raise
            await asyncio.sleep(attempt)
    raise AssertionError("unreachable")


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (undo with `restore_signals`). A shutdown still
    running 15 s after the first signal logs what it waits for (shutdownwatch.py)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if not stop.is_set():
            watch_shutdown(loop)
        stop.set()

    for sig in SIGNALS:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal)
    return stop


def restore_signals() -> None:
    loop = asyncio.get_running_loop()
    for sig in SIGNALS:
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(sig)
