"""ALLOWED_CHAT_MEMBERS_OF: an internal helpdesk admits exactly the members of a company chat.

Membership is asked with getChatMember (the bot must be in that chat) and cached for `ttl`
seconds, then asked again, so someone who leaves the company chat loses access within
minutes. A failed check (network, Telegram) falls back to the last answer within `stale`
seconds, else refuses and logs: an outage never opens the bot to strangers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import GetChatMember
from aiogram.types import Chat, TelegramObject, Update, User

from bot.telegram.access import AccessPolicy, RefusalMemory
from bot.telegram.middlewares import Notifier, on_behalf
from bot.telegram.notices import PersonalNotices
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})


class MembershipCache:
    def __init__(
        self,
        chat_id: int,
        *,
        ttl: float = 300.0,
        stale: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.chat_id = chat_id
        self.ttl = ttl
        self.stale = stale
        self.clock = clock
        self._known: dict[int, tuple[bool, float]] = {}

    async def is_member(self, bot: Bot, user_id: int) -> bool:
        now = self.clock()
        known = self._known.get(user_id)
        if known is not None and now - known[1] < self.ttl:
            return known[0]
        try:
            member = await bot(GetChatMember(chat_id=self.chat_id, user_id=user_id))
        except TelegramBadRequest as exc:
            # "user not found" / "PARTICIPANT_ID_INVALID": never was in the chat.
            log.info("getChatMember(%s, %s): %s", self.chat_id, user_id, exc)
            answer = False
        except TelegramAPIError as exc:
            if known is not None and now - known[1] < self.stale:
                log.warning("membership check failed (%s); using the last answer", exc)
                return known[0]
            log.error("membership check of user %s failed: %s; refusing", user_id, exc)
            return False
        else:
            status = str(getattr(member, "status", ""))
            answer = status in MEMBER_STATUSES or (
                status == "restricted" and bool(getattr(member, "is_member", False))
            )
        if len(self._known) > 100_000:
            self._known.clear()
        self._known[user_id] = (answer, now)
        return answer


class MembershipMiddleware(BaseMiddleware):
    """Refuses (once, politely) users who are neither members nor admitted by the lists."""

    def __init__(
        self,
        cache: MembershipCache,
        lists: AccessPolicy,
        notify: Notifier,
        support_chat_id: int = 0,
        notices: PersonalNotices | None = None,
    ) -> None:
        self.cache = cache
        self.lists = lists
        self.notify = notify
        self.notices = notices  # in a group, the refusal goes to the member alone
        self.support_chat_id = support_chat_id
        self.refused = RefusalMemory()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is None or on_behalf(event):
            # A connected account's customers are no members: the owner was checked when
            # connecting (the business_connection update comes from them).
            return await handler(event, data)
        chat_id = chat.id if chat else None
        listed = not self.lists.open and self.lists.admits(user.id, chat_id)
        if (
            listed
            or self.lists.is_admin(user.id)
            or (chat_id is not None and chat_id in (self.support_chat_id, self.cache.chat_id))
            or await self.cache.is_member(data["bot"], user.id)
        ):
            return await handler(event, data)
        log.info("update %s refused: user %s is not a member of %s", event.update_id, user.id,
                 self.cache.chat_id)
        if event.message is not None and self.refused.first_time(user.id):
            t = Translator.for_code(user.language_code)
            if self.notices is not None:
                await self.notices.tell_sender(event.message, t("access_refused"), reply=False)
            else:
                await self.notify(event.message.chat.id, t("access_refused"))
        return None
