"""What both sides of the desk's relays read of a message: who sent it, the command it
starts with, and an edit carried over to the relayed copy."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageCaption, EditMessageText
from aiogram.types import CallbackQuery, Message

from bot.features.desk.domain import Requester
from bot.features.desk.storage.models import RelayDirection
from bot.features.desk.telegram import SupportDesk
from bot.plugin.telegram import OutboxError

log = logging.getLogger(__name__)


def requester(message: Message | CallbackQuery) -> Requester | None:
    user = message.from_user
    if user is None:
        return None
    return Requester(user.id, user.full_name, user.language_code)


def command_name(message: Message) -> str | None:
    entities = message.entities or []
    if not entities or entities[0].type != "bot_command" or entities[0].offset != 0:
        return None
    text = message.text or ""
    return text[1 : entities[0].length].split("@", 1)[0].lower()


async def carry_edit(message: Message, desk: SupportDesk) -> None:
    """An edited source message: edit its copy (a copy not sent yet will copy the new text)."""
    relay = await desk.service.relays.relay_of(message.chat.id, message.message_id)
    if relay is None or relay.target_message_id is None:
        return
    target = relay.user_id if relay.direction is RelayDirection.TO_USER else desk.chat_id
    method: EditMessageText | EditMessageCaption
    if message.text is not None:
        method = EditMessageText(
            chat_id=target,
            message_id=relay.target_message_id,
            text=message.text,
            entities=message.entities,
        )
    else:
        method = EditMessageCaption(
            chat_id=target,
            message_id=relay.target_message_id,
            caption=message.caption or "",
            caption_entities=message.caption_entities,
        )
    try:
        await desk.outbox.call(target, method)
    except (OutboxError, TelegramAPIError) as exc:  # the copy was deleted, or too old
        log.info("edit of relayed message %s not carried over: %s", relay.id, exc)
