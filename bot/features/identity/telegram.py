"""The employee sign-in on Telegram and on the bot's web server: /login sends one button to
the company's provider (a state bound to this Telegram user, single-use, 10 minutes, a
nonce, PKCE); {PUBLIC_URL}/oidc/callback finishes it, binds the user to the employee, tells
them in the chat who they are signed in as, and the browser page says to go back to
Telegram. /whoami, /logout, /forget. With IDENTITY_REQUIRED=on, a private chat's message
from a user not signed in (or whose sign-in expired) is answered with the button instead.
Every line is in the user's language (texts.py)."""

from __future__ import annotations

import html
import logging
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiohttp import web

from bot.features.identity.settings import CALLBACK_PATH
from bot.features.identity.store import Binding, Identities
from bot.plugin.conversation import Employee
from bot.plugin.oidc import OidcError, RelyingParty
from bot.plugin.telegram import Deps, Outbox, Translator, refuse

log = logging.getLogger(__name__)

PAGE = ("<!doctype html><meta charset=utf-8><title>{title}</title>"
        "<p>{text}</p><p>{back}</p>")

class SignIn:
    def __init__(self, identities: Identities, party: RelyingParty, required: bool) -> None:
        self.identities = identities
        self.party = party
        self.required = required
        self.outbox: Outbox | None = None  # set once the front is built

    async def button(self, deps: Deps, message: Message, text: str) -> None:
        user = message.from_user
        assert user is not None
        t = Translator.for_code(user.language_code)
        flow = await self.identities.start(user.id, message.chat.id)
        try:
            where = await self.party.authorization_url(flow)
        except OidcError as exc:
            log.warning("identity: the provider cannot start a sign-in: %s", exc)
            await refuse(deps, message, t("identity.refused", why=str(exc)))
            return
        button = InlineKeyboardButton(text=t("identity.button"), url=where)
        await deps.outbox.call(message.chat.id, SendMessage(
            chat_id=message.chat.id, text=text,
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])))

    async def login(self, message: Message, deps: Deps) -> None:
        if message.from_user is None:
            return
        t = Translator.for_code(message.from_user.language_code)
        if message.chat.type != "private":
            await refuse(deps, message, t("identity.private_only"))
            return
        await self.button(deps, message, t("identity.sign_in"))

    async def whoami(self, message: Message, deps: Deps) -> None:
        if message.from_user is None:
            return
        t = Translator.for_code(message.from_user.language_code)
        employee = await self.identities.of(message.from_user.id)
        if employee is None:
            await refuse(deps, message, t("identity.not_signed_in"))
            return
        await refuse(deps, message, _who(t, employee))

    async def logout(self, message: Message, deps: Deps) -> None:
        if message.from_user is not None:
            await self.identities.sign_out(message.from_user.id)
            t = Translator.for_code(message.from_user.language_code)
            await refuse(deps, message, t("identity.signed_out"))

    async def forget(self, message: Message, deps: Deps) -> None:
        if message.from_user is not None:
            await self.identities.forget(message.from_user.id)
            t = Translator.for_code(message.from_user.language_code)
            await refuse(deps, message, t("identity.forgotten"))

    async def gate(self, message: Message, deps: Deps) -> None:
        """IDENTITY_REQUIRED=on: a private message of a user not signed in gets the button;
        one whose sign-in expired is told so (the message is not answered: it asks again)."""
        user = message.from_user
        assert user is not None
        t = Translator.for_code(user.language_code)
        why = ("identity.expired" if await self.identities.expired(user.id)
               else "identity.required")
        await self.button(deps, message, f"{t(why)} {t('identity.sign_in')}")

    def build_router(self) -> Router:
        """The commands first, then (IDENTITY_REQUIRED=on) the gate before every turn."""
        router = Router(name=__name__)
        router.message.register(self.login, Command("login"))
        router.message.register(self.whoami, Command("whoami"))
        router.message.register(self.logout, Command("logout"))
        router.message.register(self.forget, Command("forget"))
        if self.required:
            router.message.register(self.gate, F.chat.type == "private",
                                    self._not_signed_in)
        return router

    @staticmethod
    def _not_signed_in(message: Message, employee: Employee | None = None) -> bool:
        """The update's one decision (the Principal's employee, read once by the admission),
        not a second read of the sign-in."""
        return message.from_user is not None and employee is None

    def mount(self, app: web.Application) -> None:
        app.router.add_get(CALLBACK_PATH, self.callback)

    async def callback(self, request: web.Request) -> web.Response:
        """The provider's redirect back: the sign-in finished, or refused with one line."""
        query = request.query
        pending = await self.identities.take(query.get("state", ""))
        if pending is None:
            # Whose link it was is unknown: the page speaks the browser's language.
            t = Translator.for_code(request.headers.get("Accept-Language", "")[:2])
            why = t("identity.unknown_state")
            log.warning("identity: sign-in refused: the sign-in link is unknown, already "
                        "used or older than 10 minutes")
            return _page(t, "identity.page_refused_title", t("identity.page_refused", why=why),
                         400)
        t = Translator.for_code(await self.identities.language(pending.user_id))
        try:
            if "error" in query:
                raise OidcError(f"the provider said {query['error'][:100]!r}")
            identity = await self.party.finish(pending.flow, query.get("state", ""),
                                               query.get("code", ""))
        except OidcError as exc:
            log.warning("identity: sign-in of user %s refused: %s", pending.user_id, exc)
            await self._tell(pending.chat_id, t("identity.refused", why=str(exc)))
            return _page(t, "identity.page_refused_title",
                         t("identity.page_refused", why=str(exc)), 403)
        employee = await self.identities.bind(pending.user_id, identity)
        log.info("identity: user %s signed in as %s", pending.user_id, employee.subject)
        await self._tell(pending.chat_id, _who(t, employee))
        return _page(t, "identity.page_done_title",
                     t("identity.signed_in", who=employee.shown), 200)

    async def _tell(self, chat_id: int, text: str) -> None:
        if self.outbox is not None:
            await self.outbox.call(chat_id, SendMessage(chat_id=chat_id, text=text))


def _who(t: Translator, employee: Binding) -> str:
    text = t("identity.signed_in", who=employee.shown)
    if employee.groups:
        text += t("identity.groups", groups=", ".join(employee.groups))
    return text


def _page(t: Translator, title: str, text: str, status: int) -> web.Response:
    body: Any = PAGE.format(title=html.escape(t(title)), text=html.escape(text),
                            back=html.escape(t("identity.page_back")))
    return web.Response(text=body, status=status, content_type="text/html")
