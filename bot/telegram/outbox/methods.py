"""Bot API method objects for rendered text: always entities, never a parse_mode string."""

from __future__ import annotations

from typing import Any

from aiogram.methods import EditMessageText, SendMessage, SendMessageDraft
from aiogram.types import ReplyParameters

from bot.telegram.render import RenderedText


def text_kwargs(part: RenderedText, plain: bool) -> dict[str, Any]:
    """``plain``: Telegram refused our entities once, so send the text alone."""
    entities = None if plain else (part.entities or None)
    # parse_mode=None explicitly, so a bot-wide default parse mode can never apply.
    return {"text": part.text, "entities": entities, "parse_mode": None}


def send_method(
    chat_id: int, part: RenderedText, reply_to: int | None, thread_id: int | None, plain: bool
) -> SendMessage:
    reply = None
    if reply_to is not None:
        # The user may have deleted their question meanwhile: answer anyway.
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
    return SendMessage(
        chat_id=chat_id,
        message_thread_id=thread_id,
        reply_parameters=reply,
        **text_kwargs(part, plain),
    )


def edit_method(chat_id: int, message_id: int, part: RenderedText, plain: bool) -> EditMessageText:
    return EditMessageText(chat_id=chat_id, message_id=message_id, **text_kwargs(part, plain))


def draft_method(
    chat_id: int,
    draft_id: int,
    part: RenderedText,
    thread_id: int | None,
    can_stop: bool,
    plain: bool,
) -> SendMessageDraft:
    """https://core.telegram.org/bots/api#sendmessagedraft (can_stop, keep_on_stop: 10.3).

    keep_on_stop: after the user presses stop, the partial draft stays visible until the
    final message (sent by ``finish`` with the partial answer) replaces it.
    """
    return SendMessageDraft(
        chat_id=chat_id,
        draft_id=draft_id,
        message_thread_id=thread_id,
        can_stop=can_stop or None,
        keep_on_stop=can_stop or None,
        **text_kwargs(part, plain),
    )
