"""👍/👎 under the bot's answers when there is no support desk (KB_MODE=strict without
SUPPORT_CHAT_ID): the README promises them under every answer of a strict deployment.

The support desk does the same (and adds "Ask a person"); both record the turn and the press
in the desk's tables, so `report` and /stats count them either way.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageReplyMarkup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.features.desk.domain import DeskService, is_thanks
from bot.plugin.conversation import TurnResult
from bot.plugin.grounding import grounded_of
from bot.plugin.telegram import Outbox, OutboxError, Target, Translator

log = logging.getLogger(__name__)


def feedback_row(turn_id: int) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(text="👍", callback_data=f"fb:{turn_id}:up"),
        InlineKeyboardButton(text="👎", callback_data=f"fb:{turn_id}:down"),
    ]


async def attach_markup(
    outbox: Outbox, chat_id: int, message_id: int, markup: InlineKeyboardMarkup
) -> None:
    edit = EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=markup)
    try:
        await outbox.call(chat_id, edit)
    except (OutboxError, TelegramAPIError) as exc:
        log.info("buttons not added to answer %s in %s: %s", message_id, chat_id, exc)


class AnswerFeedback:
    background = False

    def __init__(self, service: DeskService, outbox: Outbox) -> None:
        self.service = service
        self.outbox = outbox

    async def delivered(
        self, target: Target, result: TurnResult, ids: list[int], t: Translator
    ) -> None:
        """The turn recorded (for the report), the buttons under the answer's last message."""
        chat_id = target.chat.chat_id
        if target.chat.type != "private" or result.error is not None or not ids:
            return
        who = await self.service.cases.requester(chat_id)
        question = await self.service.cases.question_of(result.user_message_id)
        if is_thanks(question):
            await self.service.note_thanks(who)
        grounded = grounded_of(result)
        note = await self.service.note_turn(
            who, question, not_found=grounded.not_found,
            sources=[source.title or source.path for source in grounded.sources],
            answer_message_id=ids[-1], question_message_id=result.user_message_id or None,
        )
        markup = InlineKeyboardMarkup(inline_keyboard=[feedback_row(note.turn_id)])
        await attach_markup(self.outbox, chat_id, ids[-1], markup)


async def handle_feedback(query: CallbackQuery, feedback: AnswerFeedback, t: Translator) -> None:
    _, turn, value = [*(query.data or "").split(":", 2), "", ""][:3]
    ok = turn.isdigit() and await feedback.service.feedback(
        int(turn), query.from_user.id, 1 if value == "up" else -1
    )
    await query.answer(t("desk_feedback_thanks") if ok else None)


def build_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(handle_feedback, F.data.startswith("fb:"))
    return router
