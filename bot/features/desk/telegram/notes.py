"""The bot's own messages in the support desk's topics (a note, a rating comment) and the
rating request to the user: each through the Outbox, a failure logged and not raised."""

from __future__ import annotations

import contextlib
import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import CloseForumTopic, ReopenForumTopic, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.features.desk.domain import CaseView, RatingComment
from bot.plugin.telegram import ChatUnreachableError, Outbox, OutboxError, Translator

log = logging.getLogger(__name__)


class TopicNotes:
    def __init__(self, outbox: Outbox, chat_id: int) -> None:
        self.outbox = outbox
        self.chat_id = chat_id

    async def note(self, thread: int, text: str) -> None:
        """A note of the bot's in a topic. A closed topic can refuse the bot (TOPIC_CLOSED):
        it is reopened for the note and closed again, so an operator's command in a closed
        topic still gets its answer."""
        send = SendMessage(chat_id=self.chat_id, message_thread_id=thread, text=text)
        try:
            await self.outbox.call(self.chat_id, send)
            return
        except ChatUnreachableError as exc:
            if "topic_closed" not in exc.reason.lower():
                log.warning("support desk: note not posted in topic %s: %s", thread, exc.reason)
                return
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: note not posted in topic %s: %s", thread, exc)
            return
        try:
            await self.outbox.call(self.chat_id, ReopenForumTopic(
                chat_id=self.chat_id, message_thread_id=thread))
            await self.outbox.call(self.chat_id, send)
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: note not posted in closed topic %s: %s", thread, exc)
        finally:
            with contextlib.suppress(OutboxError, TelegramAPIError):
                await self.outbox.call(self.chat_id, CloseForumTopic(
                    chat_id=self.chat_id, message_thread_id=thread))

    async def post_comment(self, comment: RatingComment) -> None:
        """The user's comment on their rating, in their topic (closed or not: the bot manages
        topics, so it may still write in a closed one)."""
        if comment.thread_id is None:
            log.info("support desk: comment of user %s has no topic to go to", comment.user_id)
            return
        rated = f"{comment.score}/5" if comment.score is not None else "no score"
        send = SendMessage(
            chat_id=self.chat_id, message_thread_id=comment.thread_id,
            text=f"💬 Rating {rated}, the user's comment:\n{comment.text}",
        )
        try:
            await self.outbox.call(self.chat_id, send)
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: comment not posted in topic %s: %s",
                        comment.thread_id, exc)

    async def ask_rating(self, case: CaseView, t: Translator) -> None:
        """The 1-5 buttons under "rate the help", sent to the user when their case closes."""
        buttons = [
            InlineKeyboardButton(text=str(n), callback_data=f"csat:{case.id}:{n}")
            for n in range(1, 6)
        ]
        send = SendMessage(
            chat_id=case.user_id,
            text=t("desk_rate"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons]),
        )
        try:
            await self.outbox.call(case.user_id, send)
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("support desk: rating request to %s failed: %s", case.user_id, exc)
