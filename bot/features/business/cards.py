"""The owner's approval of suggested answers (BUSINESS_REPLIES=approve): the card that shows
the owner a customer's question and the suggested answer in the owner's private chat with the
bot, its "Send" and "Discard", and what a press does. A press is judged at the time it comes:
the card stays, to be sent once what holds the answer back has passed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.features.business.models import SuggestionStatus
from bot.features.business.store import BusinessStore, Connection, CustomerChat, Suggestion
from bot.features.business.texts import say
from bot.plugin.telegram import (
    Outbox,
    OutboxError,
    RenderedText,
    Translator,
    render_markdown,
    utf16_len,
)

log = logging.getLogger(__name__)

CARD_ANSWER_LIMIT = 3000  # characters of the answer shown on the owner's card


class SuggestionCards:
    """`held`: why the bot stays silent in a chat now (None: it may answer), as the replies
    decide it, and `held_texts`: the text a held "Send" answers for each reason; `takeover`:
    how long the owner's own message keeps the bot silent."""

    def __init__(
        self, store: BusinessStore, outbox: Outbox, *,
        held: Callable[[Connection, CustomerChat], str | None],
        held_texts: Mapping[str, str], takeover: dt.timedelta,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.held = held
        self.held_texts = held_texts
        self.takeover = takeover

    async def show(self, connection: Connection, chat: CustomerChat, question: str,
                   answer: str, suggestion_id: int) -> None:
        """The card with its buttons in the owner's chat (its id stored with the suggestion)."""
        t = Translator.for_code(connection.owner_language or None)
        card = suggestion_card(chat.customer_name, question, answer, t)
        markup = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text=say(t, "send"), callback_data=f"biz:send:{suggestion_id}"),
            InlineKeyboardButton(text=say(t, "discard"),
                                 callback_data=f"biz:drop:{suggestion_id}"),
        ]])
        owner_chat = connection.user_chat_id
        try:
            sent = await self.outbox.call(owner_chat, SendMessage(
                chat_id=owner_chat, text=card.text, entities=card.entities or None,
                parse_mode=None, reply_markup=markup,
            ))
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("the owner of %s could not be shown a suggestion: %s",
                        connection.id, exc)
            return
        await self.store.set_card(suggestion_id, sent.message_id)

    async def press(self, suggestion_id: int, send: bool, presser: int, t: Translator) -> str:
        """"Send" or "Discard" on a suggestion card; what the press's answer says."""
        suggestion = await self.store.suggestion(suggestion_id)
        if suggestion is None:
            return say(t, "gone")
        connection = await self.store.connection(suggestion.chat.connection_id)
        if connection is None or connection.owner_user_id != presser:
            return say(t, "not_yours")
        if not send:
            if not await self.store.move(suggestion_id, [SuggestionStatus.PENDING],
                                         SuggestionStatus.DISCARDED):
                return say(t, "gone")
            await self._settle_card(connection, suggestion.card_message_id, suggestion, t,
                                    "discarded")
            return say(t, "discarded")
        # What held when the card was made may not hold at the press: the connection may have
        # been switched off or lost the right to reply, the owner may have paused the bot or
        # written in the chat since. The card stays, to be sent once it holds again.
        held = self.held(connection, suggestion.chat)
        if held is not None:
            log.info("suggestion %s not sent: %s", suggestion_id, held)
            return say(t, self.held_texts[held], minutes=round(self.takeover.total_seconds() / 60))
        if not await self.store.move(suggestion_id, [SuggestionStatus.PENDING],
                                     SuggestionStatus.SENDING):
            return say(t, "gone")
        try:
            await self.outbox.send_text(
                suggestion.chat.chat_id, render_markdown(suggestion.answer),
                chat_type="private", business_connection_id=connection.id,
            )
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("suggestion %s could not be sent: %s", suggestion_id, exc)
            await self.store.move(suggestion_id, [SuggestionStatus.SENDING],
                                  SuggestionStatus.PENDING)
            return say(t, "not_sent", reason=str(exc)[:120])
        await self.store.move(suggestion_id, [SuggestionStatus.SENDING], SuggestionStatus.SENT)
        await self._settle_card(connection, suggestion.card_message_id, suggestion, t, "sent")
        return say(t, "sent")

    async def _settle_card(
        self, connection: Connection, card_id: int | None, suggestion: Suggestion,
        t: Translator, outcome: str,
    ) -> None:
        """The card loses its buttons and says what became of it."""
        if card_id is None:
            return
        card = suggestion_card(suggestion.chat.customer_name, suggestion.question,
                               suggestion.answer, t, footer=say(t, outcome))
        try:
            await self.outbox.call(connection.user_chat_id, EditMessageText(
                chat_id=connection.user_chat_id, message_id=card_id, text=card.text,
                entities=card.entities or None, parse_mode=None,
            ))
        except (TelegramAPIError, OutboxError) as exc:
            log.info("suggestion card %s not updated: %s", card_id, exc)


def suggestion_card(
    customer: str, question: str, answer: str, t: Translator, footer: str = ""
) -> RenderedText:
    """The owner's card: who wrote what (plain), the suggested answer (rendered), a footer."""
    if len(question) > 500:
        question = question[:500] + "…"
    shown = answer if len(answer) <= CARD_ANSWER_LIMIT else (
        answer[:CARD_ANSWER_LIMIT] + "…\n\n" + say(t, "too_long"))
    head = say(t, "suggestion", customer=customer or "?", question=question)
    body = render_markdown(shown)
    shift = utf16_len(head)
    entities = [e.model_copy(update={"offset": e.offset + shift}) for e in body.entities]
    text = head + body.text + (f"\n\n{footer}" if footer else "")
    return RenderedText(text, entities)
