"""Who asks, on whose behalf, and whether they may: decided once per update, before any
feature sees it.

Every surface the bot answers on has one `Principal`:

- `private`: a user in their private chat with the bot (also their presses, inline queries);
- `group`: a member of a group the bot is in;
- `operator`: anyone writing in the support desk's chat;
- `business`: a customer of an account connected to the bot (Bot API business connections),
  answered on behalf of that account's owner; the owner's own messages there too;
- `guest`: a user who mentioned the bot in a chat the bot is not a member of (guest mode).

The rules (ALLOWED_USER_IDS, ALLOWED_CHAT_IDS, ADMIN_USER_IDS, ALLOWED_CHAT_MEMBERS_OF) judge
the bot's own user of each: the asker, except in a business chat, where they judge the
account's owner on every message (the membership check's cache applies, so an owner who leaves
the company chat loses the connection within its `ttl`). A chat the deployment does not own is
never a reason to admit: a guest query carries the id of a chat the bot is not in, which an
allow-listed chat's member could otherwise lend to anyone.

The same decision says whether the asker is an admin (one rule, `AccessPolicy.is_admin`:
ADMIN_USER_IDS or the admin role stored for the user) and whether they are blocked (refused
here, silently, on every surface). In a business chat the asker is a customer of the owner's:
never the deployment's admin there, whoever they are elsewhere.

Features read `data["principal"]` (`owned` tells the deployment's own chats from the others:
tools and budgets follow from it; `is_admin` exempts from quotas and opens admin-only tools
and commands); none re-derives who may write or who is an admin.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.types import Chat, Message, TelegramObject, Update, User

from bot.conversation.types import Employee, SignedIn
from bot.telegram.access import Access, AccessPolicy, RefusalMemory
from bot.telegram.texts import Translator

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.telegram.membership import MembershipCache
    from bot.telegram.notices import PersonalNotices
    from bot.telegram.notifier import Notifier

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Surface(enum.StrEnum):
    """Where an update comes from: a private chat, a group, the support chat (an operator),
    a business chat (a connected account's customer) or a guest query."""

    PRIVATE = "private"
    GROUP = "group"
    OPERATOR = "operator"
    BUSINESS = "business"
    GUEST = "guest"


# The surfaces whose chats the deployment does not own: tools there are offered only where the
# deployment named them safe for that surface (docs/tools.md, "Security").
NOT_OWNED = frozenset({Surface.BUSINESS, Surface.GUEST})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks (`user_id`, verified by Telegram), where (`chat_id`) and on whose behalf
    (`owner_id`: a connected account's owner in a business chat)."""

    surface: Surface
    user_id: int | None
    chat_id: int | None
    owner_id: int | None = None
    connection_id: str | None = None
    # The asker, by the one rule (see the module docstring); never in a business chat.
    is_admin: bool = False
    # The asker is blocked (the desk's /block): such a principal is never admitted.
    blocked: bool = False
    # Who the asker is at the company (signed in with its identity provider: the identity
    # feature), in the deployment's own chats; None otherwise.
    employee: Employee | None = None

    @property
    def owned(self) -> bool:
        """Whether the chat is the deployment's own (private, group, the support chat)."""
        return self.surface not in NOT_OWNED

    @property
    def judged(self) -> int | None:
        """The bot's own user the rules judge: the owner in a business chat, else the asker."""
        return self.owner_id if self.surface is Surface.BUSINESS else self.user_id


@dataclass(frozen=True, slots=True)
class Standing:
    """What the bot has stored of a user: the admin role, blocked."""

    admin: bool = False
    blocked: bool = False


class Standings(Protocol):
    """Reads a user's stored standing (no row written: an outsider costs nothing)."""

    async def of(self, user_id: int) -> Standing: ...


class Employees(Protocol):
    """Finds who a Telegram user is signed in as (the identity feature knows them)."""

    async def of(self, user_id: int) -> Employee | None: ...


class _Either:
    def __init__(self, first: SignedIn, then: Employees) -> None:
        self.first, self.then = first, then

    async def of(self, user_id: int) -> Employee | None:
        return await self.first.of(user_id) or await self.then.of(user_id)


def either(signed_in: SignedIn | None, employees: Employees | None) -> Employees | None:
    """Who a user is signed in as: `signed_in`'s users first, then the identity feature's."""
    if signed_in is None:
        return employees
    return signed_in if employees is None else _Either(signed_in, employees)


class ConnectionOwners(Protocol):
    """Finds the owner of a business connection (the chat-automation feature knows them)."""

    async def owner_of(self, connection_id: str, bot: Bot) -> int | None: ...


def business_connection_id(update: Update) -> str | None:
    """The connection a business update came through (None: not a business update): a
    customer's message, its edit or deletion, and a press on a message in a business chat
    (the press's message carries the connection), which is judged as that chat."""
    for event in (update.business_message, update.edited_business_message,
                  update.deleted_business_messages):
        if event is not None:
            return event.business_connection_id or ""
    press = update.callback_query
    if press is not None and isinstance(press.message, Message):
        return press.message.business_connection_id
    return None


class Gatekeeper:
    """The one decision (see the module docstring). `membership`: ALLOWED_CHAT_MEMBERS_OF's
    cache (None when unset); `owners`: how a business connection's owner is found (None: no
    business chat is admitted)."""

    def __init__(
        self,
        access: Access,
        *,
        membership: MembershipCache | None = None,
        owners: ConnectionOwners | None = None,
        standings: Standings | None = None,
        employees: Employees | None = None,
    ) -> None:
        self.lists = AccessPolicy.build(access.users, access.chats, access.admins)
        self.standings = standings
        self.support_chat_id = access.support_chat_id
        self.members_of = access.members_of
        if self.members_of and membership is None:
            raise ValueError("ALLOWED_CHAT_MEMBERS_OF needs a membership cache")
        self.membership = membership
        self.owners = owners
        self.employees = employees

    @property
    def open(self) -> bool:
        """Everyone may write (no lists, no membership)."""
        return self.lists.open and not self.members_of

    async def standing(self, user_id: int | None) -> Standing:
        """The user's stored standing (nothing stored: no standing, no database)."""
        if user_id is None or self.standings is None:
            return Standing()
        return await self.standings.of(user_id)

    async def is_admin(self, user_id: int | None) -> bool:
        """The one rule, for a user the update does not carry (a business chat's owner)."""
        if self.lists.listed_admin(user_id):
            return True
        return (await self.standing(user_id)).admin

    async def principal(self, update: Update, user: User | None, chat: Chat | None,
                        bot: Bot) -> Principal:
        found = await self._found(update, user, chat, bot)
        standing = await self.standing(found.user_id)
        admin = found.surface is not Surface.BUSINESS and self.lists.is_admin(
            found.user_id, stored_admin=standing.admin)
        employee = None
        if self.employees is not None and found.owned and found.user_id is not None \
                and found.surface is not Surface.OPERATOR:
            employee = await self.employees.of(found.user_id)
        return dataclasses.replace(found, is_admin=admin, blocked=standing.blocked,
                                   employee=employee)

    async def _found(self, update: Update, user: User | None, chat: Chat | None,
                     bot: Bot) -> Principal:
        user_id = user.id if user is not None else None
        chat_id = chat.id if chat is not None else None
        connection = business_connection_id(update)
        if connection is not None:
            owner = None
            if connection and self.owners is not None:
                owner = await self.owners.owner_of(connection, bot)
            return Principal(Surface.BUSINESS, user_id, chat_id, owner, connection)
        if update.guest_message is not None:
            return Principal(Surface.GUEST, user_id, chat_id)
        if chat_id is not None and chat_id == self.support_chat_id:
            return Principal(Surface.OPERATOR, user_id, chat_id)
        if chat is not None and chat.type != "private":
            return Principal(Surface.GROUP, user_id, chat_id)
        if user_id is None and chat is not None:  # a private chat's update without a sender
            user_id = chat.id
        return Principal(Surface.PRIVATE, user_id, chat_id)

    async def admits(self, principal: Principal, bot: Bot) -> bool:
        surface = principal.surface
        if principal.blocked:
            return False
        if surface is Surface.OPERATOR:
            return True  # operators write in the support chat whatever the lists say
        judged = principal.judged
        if surface is Surface.BUSINESS:
            if judged is None:
                return False  # a connection nobody can vouch for
            chat: int | None = judged  # the owner's private chat with the bot has their id
        elif surface is Surface.GUEST:
            chat = None  # the bot is not in that chat: its id admits nobody
        else:
            chat = principal.chat_id
        if principal.is_admin if surface is not Surface.BUSINESS else await self.is_admin(judged):
            return True
        if not self.members_of:
            return self.lists.admits(judged, chat)
        if not self.lists.open and self.lists.admits(judged, chat):
            return True
        if chat is not None and chat == self.members_of:
            return True  # the company chat itself
        assert self.membership is not None
        return judged is not None and await self.membership.is_member(bot, judged)


class AdmissionMiddleware(BaseMiddleware):
    """Drops other bots; decides the principal; outsiders get one refusal and cost nothing (no
    row, no model call). In a group the refusal is shown to that member alone (`notices`),
    once per member; a business chat's customers and guests are never told (the refusal would
    speak for an owner or in a chat the bot is not in): the log says why."""

    def __init__(
        self, gate: Gatekeeper, notify: Notifier, notices: PersonalNotices | None = None
    ) -> None:
        self.gate = gate
        self.notify = notify
        self.notices = notices
        self.refused = RefusalMemory()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is not None and user.is_bot:
            log.debug("update %s from bot %s ignored", event.update_id, user.id)
            return None
        principal = await self.gate.principal(event, user, chat, data["bot"])
        if await self.gate.admits(principal, data["bot"]):
            data["principal"] = principal
            data["is_admin"] = principal.is_admin  # what handlers and quotas read
            data["employee"] = principal.employee  # what the turn's speaker carries
            return await handler(event, data)
        if principal.blocked:
            log.info("update %s from blocked user %s ignored", event.update_id,
                     principal.user_id)
            return None
        if principal.surface is Surface.BUSINESS:
            log.info("update %s refused: business connection %s, owner %s not admitted",
                     event.update_id, principal.connection_id, principal.owner_id)
            return None
        log.info("update %s refused: %s user %s chat %s", event.update_id,
                 principal.surface.value, principal.user_id, principal.chat_id)
        if event.message is not None:
            await self._refuse(event, principal, user)
        return None

    async def _refuse(self, event: Update, principal: Principal, user: User | None) -> None:
        message = event.message
        assert message is not None
        chat_id, user_id = principal.chat_id, principal.user_id
        group = principal.surface is Surface.GROUP
        notices = self.notices if group and user is not None else None
        if notices is not None and chat_id is not None and notices.refuses(chat_id):
            notices = None  # that chat takes no ephemeral notices lately: told once, publicly
        # Told once per member where each is told alone, else once per group.
        key: object = (chat_id, user_id) if notices else chat_id if group else user_id
        if key is None or not self.refused.first_time(key):
            return
        t = Translator.for_code(user.language_code if user else None)
        if notices is not None:
            await notices.tell_sender(message, t("access_refused"), reply=False)
        else:
            await self.notify(message.chat.id, t("access_refused"))
