"""Whether SUPPORT_CHAT_ID can take a handoff at all: a forum (Topics on) the bot is in.

Every handed-over user gets a topic of their own (createForumTopic), which only a forum has:
a plain supergroup answers "the chat is not a forum"
(https://core.telegram.org/bots/api#createforumtopic, https://core.telegram.org/bots/api#chatfullinfo
`is_forum`). That is not a hiccup to retry but a setting only an admin can change, so the desk
stops promising a person until getChat says the chat is a forum again (asked again at most every
`recheck_after` seconds, so turning Topics on needs no restart).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import GetChat

from bot.plugin.helpers import loop_time

log = logging.getLogger(__name__)

# What Telegram answers when the support chat itself cannot hold topics (not a retry's matter).
_UNUSABLE = ("not a forum", "chat not found", "bot was kicked", "bot is not a member",
             "chat was deleted", "group chat was upgraded")

NOT_A_FORUM = "the chat has no Topics (it is not a forum)"


def fix_key(problem: str) -> str:
    """The text (bot/features/desk/telegram/texts.py) saying what an admin does about
    `problem`: Topics only when the chat lacks them; a chat that does not exist or the bot is
    not in is a wrong id or a missing member, not a setting of the group (`fmbot check` says
    the same)."""
    text = problem.lower()
    if "chat not found" in text or "chat was deleted" in text:
        return "desk_fix_chat_id"
    if "kicked" in text or "not a member" in text:
        return "desk_fix_member"
    if "upgraded" in text:
        return "desk_fix_upgraded"
    return "desk_fix_topics"


def fix_for(problem: str) -> str:
    """What an admin does about `problem`, in English (the log's)."""
    from bot.features.desk.telegram.texts import DESK_TEXTS

    return DESK_TEXTS[fix_key(problem)]["en"]


def chat_unusable(exc: BaseException) -> bool:
    """Telegram's answer says the support chat cannot hold topics at all."""
    text = str(exc).lower()
    return any(marker in text for marker in _UNUSABLE)


class SupportChat:
    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        recheck_after: float = 30.0,
        clock: Callable[[], float] = loop_time,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.recheck_after = recheck_after
        self.clock = clock
        self.usable: bool | None = None  # None: not known (getChat not answered yet)
        self.problem = ""
        self._checked_at = float("-inf")

    async def refresh(self) -> bool | None:
        """Ask getChat; a network failure or a flood reply leaves what was known."""
        self._checked_at = self.clock()
        try:
            chat = await self.bot(GetChat(chat_id=self.chat_id))
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            self._set(False, f"getChat failed: {exc}")
        except TelegramAPIError as exc:
            log.warning("support desk: getChat %s failed (%s); trying later", self.chat_id, exc)
        else:
            self._set(bool(chat.is_forum), "" if chat.is_forum else NOT_A_FORUM)
        return self.usable

    def refused(self, exc: BaseException) -> None:
        """A topic method answered that the chat cannot hold topics."""
        self._checked_at = self.clock()
        self._set(False, NOT_A_FORUM if "not a forum" in str(exc).lower() else str(exc))

    @property
    def fix(self) -> str:
        """What an admin does about the current problem."""
        return fix_for(self.problem)

    def known_unusable(self) -> bool:
        return self.usable is False

    async def can_hand_over(self) -> bool:
        """False only when the chat is known unusable (asked again after `recheck_after`)."""
        if self.usable is False and self.clock() - self._checked_at >= self.recheck_after:
            await self.refresh()
        return self.usable is not False

    def _set(self, usable: bool, problem: str) -> None:
        if usable and self.usable is False:
            log.info("support desk: SUPPORT_CHAT_ID %s takes handoffs again", self.chat_id)
        self.usable = usable
        self.problem = problem
