"""ALLOWED_CHAT_MEMBERS_OF: an internal helpdesk admits exactly the members of a company chat.

Membership is asked with getChatMember (the bot must be in that chat) and cached for `ttl`
seconds, then asked again, so someone who leaves the company chat loses access within
minutes (ALLOWED_CHAT_MEMBERS_TTL). A failed check (network, Telegram) falls back to the last
answer within `stale` seconds, else refuses and logs: an outage never opens the bot to
strangers. The decision itself is the gate's (admission.py): it asks this cache of the asker,
or of a connected account's owner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import GetChatMember

from bot.clock import loop_time

log = logging.getLogger(__name__)

MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})


class MembershipCache:
    def __init__(
        self,
        chat_id: int,
        *,
        ttl: float = 300.0,
        stale: float = 3600.0,
        clock: Callable[[], float] = loop_time,
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
