"""The console on Telegram: /console (admins, in a private chat) sends a one-time sign-in
button. Its pages are on the bot's web server (WEB_LISTEN in polling mode, the webhook's
server otherwise), which the core runs for every feature's pages."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.features.console.web import Console
from bot.plugin.telegram import Deps, refuse

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
        link = self.console.signin.link(await self.console.access.new_link(user.id))
        button = InlineKeyboardButton(text="Open the console", url=link)
        await deps.outbox.call(message.chat.id, SendMessage(
            chat_id=message.chat.id, text=SIGN_IN,
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])))

    def build_router(self) -> Router:
        router = Router(name=__name__)
        router.message.register(self.handle, Command("console"))
        return router
