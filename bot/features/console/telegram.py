"""The console on Telegram and on the web server: /console (admins, in a private chat) sends
a one-time sign-in button; in polling mode the bot's own web server (WEB_LISTEN) serves the
console, started and stopped with the bot."""

from __future__ import annotations

import errno
import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiohttp import web

from bot.features.console.web import Console
from bot.plugin.config import ConfigError
from bot.plugin.telegram import BotRun, BotService, Deps, refuse

log = logging.getLogger(__name__)

SIGN_IN = "Open the console (this button works once, for 5 minutes)."
ADMINS_ONLY = "The console is for the bot's admins only (ADMIN_USER_IDS)."
PRIVATE_ONLY = "Send /console to me in a private chat: its sign-in link is personal."


class ConsoleCommand:
    """/console: a one-time sign-in button for an admin, in a private chat only."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def handle(self, message: Message, deps: Deps, is_admin: bool) -> None:
        user = message.from_user
        if user is None or not is_admin or user.id not in self.console.access.admins:
            await refuse(deps, message, ADMINS_ONLY)
            if user is not None:
                await self.console.access.audit(user.id, "refused", "/console by a non-admin")
            return
        if message.chat.type != "private":
            await refuse(deps, message, PRIVATE_ONLY)
            return
        link = self.console.link(await self.console.access.new_link(user.id))
        button = InlineKeyboardButton(text="Open the console", url=link)
        await deps.outbox.call(message.chat.id, SendMessage(
            chat_id=message.chat.id, text=SIGN_IN,
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])))

    def build_router(self) -> Router:
        router = Router(name=__name__)
        router.message.register(self.handle, Command("console"))
        return router


class WebServer(BotService):
    """The bot's web server in polling mode (WEB_LISTEN): the console's pages, from the start
    until the bot stops. A port that cannot be bound stops the start with one line saying
    which and why."""

    def __init__(self, console: Console, host: str, port: int) -> None:
        self.console = console
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    @property
    def port_bound(self) -> int:
        """The port listened on (WEB_LISTEN's, or the one the system gave for port 0)."""
        runner = self._runner
        if runner is None or not runner.addresses:
            return self.port
        return int(runner.addresses[0][1])

    async def startup(self, run: BotRun) -> None:
        app = web.Application()
        self.console.mount(app)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            why = {errno.EADDRINUSE: "the address is in use by another program",
                   errno.EACCES: "this user may not listen there",
                   errno.EADDRNOTAVAIL: "this machine has no such address"}.get(
                       exc.errno or 0, exc.strerror or str(exc))
            raise ConfigError(
                f"WEB_LISTEN={self.host}:{self.port}: cannot listen there ({why})") from None
        self._runner = runner
        log.info("web server listening on %s:%s (the console at %s)", self.host,
                 self.port_bound, self.console.path)

    async def shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
