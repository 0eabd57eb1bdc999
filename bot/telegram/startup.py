"""Bot API calls around start and stop: reaching Telegram, the command menu, signals.

Start-up calls wait out what a restart commonly meets (a network blip, a flood reply to
setWebhook/setMyCommands) instead of failing the whole process; a rejected token fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import TypeVar

from aiogram import Bot, Dispatcher
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
from bot.telegram.shutdownwatch import REPORT_AFTER, watch_shutdown
from bot.telegram.texts import COMMANDS, LANGUAGES
from bot.telegram.uploads import TypedUploadsSession

log = logging.getLogger(__name__)
T = TypeVar("T")
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TokenRejectedError(Exception):
    """Telegram answered 401 to the bot token."""


def make_bot(token: str, api_url: str = "https://api.telegram.org") -> Bot:
    session = TypedUploadsSession(api=TelegramAPIServer.from_base(api_url))
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
    """fmbot's commands, then the features' (`extra`: name -> descriptions by language, as they
    registered them); a registered command of the same name as one of fmbot's replaces its
    description. An entry Telegram would refuse is left out (logged), so it cannot cost the
    rest of the menu."""
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


class StopSignal(asyncio.Event):
    """Set by SIGTERM or SIGINT. The first signal also starts the shutdown watch: a shutdown
    still running `report_after` s later logs what it waits for (shutdownwatch.py), unless
    `finished()` said it is over."""

    def __init__(self, report_after: float = REPORT_AFTER) -> None:
        super().__init__()
        self.report_after = report_after
        self._watch: threading.Timer | None = None

    def signalled(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self.is_set():
            self._watch = watch_shutdown(loop, self.report_after)
        self.set()

    def finished(self) -> None:
        """The shutdown is over: nothing to report, even if the process goes on (the bot
        run inside another program, or a test's)."""
        if self._watch is not None:
            self._watch.cancel()


def stop_on_signals(report_after: float = REPORT_AFTER) -> StopSignal:
    """A StopSignal set by SIGTERM or SIGINT (undo with `restore_signals`; call its
    `finished()` once the shutdown is done)."""
    stop = StopSignal(report_after)
    loop = asyncio.get_running_loop()
    for sig in SIGNALS:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.signalled, loop)
    return stop


def restore_signals() -> None:
    loop = asyncio.get_running_loop()
    for sig in SIGNALS:
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(sig)


async def stop_polling(dp: Dispatcher, polling: asyncio.Task[None]) -> None:
    """Until `polling` has ended; re-raises what ended it, if not our stop."""
    if not polling.done():
        try:
            # Cancels the open getUpdates: nothing more is fetched from here on.
            await dp.stop_polling()
        except RuntimeError:  # still starting up (reaching Telegram, resuming the backlog)
            polling.cancel()
    await asyncio.wait({polling})
    failure = None if polling.cancelled() else polling.exception()
    if failure is not None:
        raise failure


@contextlib.contextmanager
def stopping(given: asyncio.Event | None) -> Iterator[asyncio.Event]:
    """The event that stops a run: `given` (the bot run inside another program: `async with
    app`), or SIGTERM/SIGINT, whose handlers are restored after."""
    if given is not None:
        yield given
        return
    stop = stop_on_signals()
    try:
        yield stop
    finally:
        restore_signals()
        stop.finished()
