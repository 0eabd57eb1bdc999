"""Notices for one member of a group, shown to that member alone (ephemeral messages).

A limit reached, a refusal, "only the person who asked can confirm": in a group these concern
one member, and the others need not read them. Telegram shows such a message to one member
only when it is sent with ``ephemeral_message_parameters`` (Bot API 10.2-10.4, see
docs/telegram-features.md "Ephemeral notices"): ``receiver_user_id`` (a member of the chat)
and, for a button press, the press's ``callback_query_id`` (since 10.4 that alone answers the
press, in any chat). The answer has ``message_id`` 0 and an ``ephemeral_message_id``.

Here, through the outbox (paced in the chat's lane like every other call):

- groups and supergroups: the notice goes ephemerally; where Telegram refuses it (a 400: an
  older server, the ~15 s window after the member's action passed, the member left...), it
  goes as today's reply, and the chat is remembered for ``remember_for`` seconds so the next
  notices there go straight to the reply, without a failed call each (unless the refusal came
  late, after the chat's pacing held the notice back: perhaps the window's). A server that
  ignores the parameter (no ``ephemeral_message_id`` in its answer) has shown the notice to
  everyone: remembered the same way. Anything else (the bot blocked or removed) tells nothing.
- private chats (and channels): exactly today's reply; a press: today's callback answer.

This is a delivery primitive of the Telegram adapter, beside the plain notifier (notifier.py),
not a feature: the adapter's own middlewares and handlers are its callers, and a feature
folder would make the core name a feature (issue 47).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import SendMessage
from aiogram.types import (
    CallbackQuery,
    EphemeralMessageParameters,
    Message,
    ReplyParameters,
)

from bot.clock import loop_time
from bot.telegram.outbox import Outbox, OutboxError
from bot.telegram.outbox.newer import EPHEMERAL_FIELD

log = logging.getLogger(__name__)

GROUPS = frozenset({"group", "supergroup"})
REMEMBER_FOR = 1800.0  # seconds a chat that refused an ephemeral notice gets plain replies
# A refusal that came this long after the notice was asked for (the chat's lane was busy) may
# be the ~15 s window's, not the chat's: it falls back without being remembered.
PROMPT_REFUSAL = 10.0


class Told(enum.Enum):
    """How a notice reached its member."""

    ALONE = "alone"  # an ephemeral message: only that member sees it
    REPLY = "reply"  # today's reply (or callback answer): the chat sees it
    NOTHING = "nothing"  # Telegram took neither (bot blocked, chat gone...)


class _Sent(enum.Enum):
    ALONE = "alone"  # only the receiver sees it
    EVERYONE = "everyone"  # a server that ignored the parameter posted it for the chat
    REFUSED = "refused"  # a 400: the caller falls back to today's reply
    FAILED = "failed"  # anything else (blocked, chat gone, retries exhausted)


class PersonalNotices:
    """Notices for one member (see the module docstring); `clock`: seconds on the loop's clock."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        remember_for: float = REMEMBER_FOR,
        clock: Callable[[], float] = loop_time,
    ) -> None:
        self.outbox = outbox
        self.remember_for = remember_for
        self.clock = clock
        self._refused: dict[int, float] = {}  # chat id -> until when it gets plain replies

    def refuses(self, chat_id: int) -> bool:
        """Whether `chat_id` refused an ephemeral notice lately, or the Bot API server refused
        the field itself (an older server: every chat's notices go as replies)."""
        if self.outbox.older_server.refuses(EPHEMERAL_FIELD):
            return True
        until = self._refused.get(chat_id)
        if until is None:
            return False
        if until <= self.clock():
            del self._refused[chat_id]
            return False
        return True

    async def tell(
        self,
        chat_id: int,
        chat_type: str,
        user_id: int | None,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> Told:
        """Show `text` to `user_id` alone in a group; elsewhere, without a user, or where
        Telegram refuses, as today's reply (to `reply_to`, in `thread_id`)."""
        if chat_type in GROUPS and user_id is not None and not self.refuses(chat_id):
            sent = await self._ephemeral(chat_id, user_id, text, reply_to, thread_id, None)
            if sent is not _Sent.REFUSED:
                return {_Sent.ALONE: Told.ALONE, _Sent.EVERYONE: Told.REPLY}.get(
                    sent, Told.NOTHING)
        try:
            await self.outbox.send_text(chat_id, text, reply_to=reply_to, thread_id=thread_id)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("could not send a notice to chat %s: %s", chat_id, exc)
            return Told.NOTHING
        return Told.REPLY

    async def tell_sender(self, message: Message, text: str, *, reply: bool = True) -> Told:
        """`tell` the sender of `message`, in its chat and topic; `reply`: in groups the
        notice replies to it (private chats never do)."""
        chat = message.chat
        user = message.from_user
        thread = message.message_thread_id if message.is_topic_message else None
        reply_to = message.message_id if reply and chat.type != "private" else None
        # No user (a channel post): nobody to tell alone, the chat is told.
        return await self.tell(chat.id, chat.type, user.id if user else None, text,
                               reply_to=reply_to, thread_id=thread)

    async def answer_press(self, query: CallbackQuery, text: str) -> Told:
        """Answer a button press with `text` for the presser alone: in a group an ephemeral
        message tied to the press (which answers it); elsewhere, or where Telegram refuses,
        today's alert."""
        message = query.message
        chat = message.chat if message is not None else None
        if chat is not None and chat.type in GROUPS and not self.refuses(chat.id):
            thread = None
            if isinstance(message, Message) and message.is_topic_message:
                thread = message.message_thread_id
            sent = await self._ephemeral(chat.id, query.from_user.id, text, None, thread,
                                         query.id)
            if sent is _Sent.ALONE:
                return Told.ALONE
            if sent is _Sent.EVERYONE:  # shown to the chat: the press still needs its answer
                await _answer(query, None)
                return Told.REPLY
        return Told.REPLY if await _answer(query, text) else Told.NOTHING

    async def _ephemeral(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        reply_to: int | None,
        thread_id: int | None,
        press: str | None,
    ) -> _Sent:
        """Send the notice ephemerally (see `_Sent`); a refusal, or a server that ignored
        the parameter, is remembered for the chat."""
        method = SendMessage(
            chat_id=chat_id,
            text=text,
            message_thread_id=thread_id,
            parse_mode=None,
            reply_parameters=None if reply_to is None else ReplyParameters(
                message_id=reply_to, allow_sending_without_reply=True),
            ephemeral_message_parameters=EphemeralMessageParameters(
                receiver_user_id=user_id, callback_query_id=press),
        )
        asked = self.clock()
        try:
            sent = await self.outbox.call(chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            if not _refusal(exc):
                log.warning("could not send a notice to chat %s: %s", chat_id, exc)
                return _Sent.FAILED
            if EPHEMERAL_FIELD in self.outbox.older_server.learn(exc) or (
                self.outbox.older_server.refuses(EPHEMERAL_FIELD)
            ):
                # The server does not know the field (older than Bot API 10.3): the notice
                # goes as a reply now and every notice after it, in every chat (newer.py).
                return _Sent.REFUSED
            if self.clock() - asked > PROMPT_REFUSAL:  # perhaps the window's: not the chat's
                log.info("chat %s refused a late ephemeral notice (%s)", chat_id, exc)
                return _Sent.REFUSED
            log.info("chat %s refused an ephemeral notice (%s): replies there for %.0f s",
                     chat_id, exc, self.remember_for)
            self._remember(chat_id)
            return _Sent.REFUSED
        if sent.ephemeral_message_id is None:
            log.info("chat %s: the notice went out to everyone (no ephemeral_message_id): "
                     "replies there for %.0f s", chat_id, self.remember_for)
            self._remember(chat_id)
            return _Sent.EVERYONE
        return _Sent.ALONE

    def _remember(self, chat_id: int) -> None:
        if len(self._refused) >= 10_000:
            now = self.clock()
            self._refused = {c: u for c, u in self._refused.items() if u > now}
            if len(self._refused) >= 10_000:
                self._refused.clear()
        self._refused[chat_id] = self.clock() + self.remember_for


def _refusal(exc: BaseException) -> bool:
    """A 400 from Telegram (directly, or behind the outbox's "chat unreachable", which a
    "not enough rights" becomes): the ephemeral form is refused, a plain reply may pass."""
    return isinstance(exc, TelegramBadRequest) or isinstance(exc.__cause__, TelegramBadRequest)


async def _answer(query: CallbackQuery, text: str | None) -> bool:
    """Today's answer to a press: an alert with `text` (or nothing shown)."""
    try:
        if text is None:
            await query.answer()
        else:
            await query.answer(text, show_alert=True)
    except TelegramAPIError as exc:
        log.info("press %s not answered: %s", query.id, exc)
        return False
    return True
