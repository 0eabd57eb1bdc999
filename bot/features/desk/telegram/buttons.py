"""After the bot answers in a private chat: the turn recorded for the report, 👍/👎 and
"Ask a person" under the answer, a thanks noted, and the handoff after two "not found"."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageReplyMarkup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.features.desk.domain import DeskService, Requester, is_thanks
from bot.features.desk.storage.models import HandoffReason
from bot.features.desk.telegram.options import DeskOptions
from bot.features.desk.telegram.supportchat import SupportChat
from bot.plugin.conversation import TurnResult
from bot.plugin.grounding import grounded_of
from bot.plugin.telegram import Outbox, OutboxError, Target, Translator

log = logging.getLogger(__name__)

HandOver = Callable[[Requester, HandoffReason, Translator], Awaitable[None]]


class AnswerButtons:
    def __init__(
        self,
        service: DeskService,
        outbox: Outbox,
        options: DeskOptions,
        support_chat: SupportChat,
        hand_over: HandOver,
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.options = options
        self.support_chat = support_chat
        self.hand_over = hand_over

    def answer_markup(
        self, *, turn_id: int, not_found: bool, t: Translator
    ) -> InlineKeyboardMarkup | None:
        rows: list[list[InlineKeyboardButton]] = []
        if self.options.feedback_buttons:
            rows.append(
                [
                    InlineKeyboardButton(text="👍", callback_data=f"fb:{turn_id}:up"),
                    InlineKeyboardButton(text="👎", callback_data=f"fb:{turn_id}:down"),
                ]
            )
        if not_found and not self.support_chat.known_unusable():  # no person to ask now
            rows.append(
                [InlineKeyboardButton(text=t("desk_ask_button"), callback_data="desk:ask")]
            )
        return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None

    async def attach_markup(
        self, chat_id: int, message_id: int, markup: InlineKeyboardMarkup
    ) -> None:
        edit = EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=markup)
        try:
            await self.outbox.call(chat_id, edit)
        except (OutboxError, TelegramAPIError) as exc:
            log.info("buttons not added to answer %s in %s: %s", message_id, chat_id, exc)

    async def after_answer(self, target: Target, result: TurnResult, ids: list[int]) -> None:
        """Bookkeeping after the bot answered in a private chat: the turn (for the report),
        the answer's buttons, a thanks, and the handoff after two "not found" in a row."""
        chat_id, chat_type = target.chat.chat_id, target.chat.type
        if chat_type != "private" or result.error is not None:
            return
        who = await self.service.cases.requester(chat_id)
        question = await self.service.cases.question_of(result.user_message_id)
        if is_thanks(question):
            await self.service.note_thanks(who)
        grounded = grounded_of(result)
        sources = [source.title or source.path for source in grounded.sources]
        note = await self.service.note_turn(
            who, question, not_found=grounded.not_found, sources=sources,
            answer_message_id=ids[-1] if ids else None,
            question_message_id=result.user_message_id or None,
        )
        t = Translator.for_code(who.language)
        markup = self.answer_markup(turn_id=note.turn_id, not_found=grounded.not_found, t=t)
        if markup is not None and ids:
            await self.attach_markup(chat_id, ids[-1], markup)
        if note.hand_over and not self.support_chat.known_unusable():  # nobody asked for it
            await self.hand_over(who, HandoffReason.KB_MISS, t)
