"""The support chat's side of the desk: operators' messages in a user's topic relayed to the
user, the topic's commands (/close, /bot, /block, /unblock) and the card's buttons, and edits
carried over to the user's copy."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, Filter
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message

from bot.features.desk.storage.models import DeskStatus
from bot.features.desk.telegram import SupportDesk
from bot.features.desk.telegram.messages import carry_edit, command_name, requester
from bot.plugin.telegram import Deps, OutboxError, Ticket

log = logging.getLogger(__name__)


class InSupportTopic(Filter):
    """A message in one of the support chat's topics; gives ``thread_id``."""

    async def __call__(self, message: Message, desk: SupportDesk) -> bool | dict[str, Any]:
        if message.chat.id != desk.chat_id or not message.is_topic_message:
            return False
        if message.message_thread_id is None:
            return False
        return {"thread_id": message.message_thread_id}


async def handle_topic_message(
    message: Message, desk: SupportDesk, thread_id: int, ticket: Ticket
) -> None:
    """Quick messages reach the user in the order the operator wrote them, not in the order
    their handlers end: the relay is a job of the support chat's queue."""
    text = message.text or message.caption or ""
    if message.forum_topic_created or message.forum_topic_closed:
        return  # a service message: stays in the topic
    if text.startswith("//"):  # an internal note: stays in the topic, kept with the case
        if message.from_user is not None and not message.from_user.is_bot:
            await desk.service.cases.add_note(thread_id, message.from_user.full_name,
                                              text[2:].strip())
        return
    if message.forum_topic_reopened or message.from_user is None or message.from_user.is_bot:
        return
    if command_name(message) is not None:
        raise SkipHandler  # another command (/stats...) is for the bot, not for the user
    who = requester(message)

    async def relay_in_order() -> None:
        relay = await desk.service.relays.relay_from_operator(
            thread_id, message.message_id, text, who)
        if relay is not None:
            desk.relayer.submit(relay)
            return
        case = await desk.service.cases.case_for_thread(thread_id)
        if case is None or case.status not in (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR):
            log.info("topic %s: no conversation a person owns; message not relayed", thread_id)
            await _note(
                desk, thread_id,
                "Not sent: the bot has this user's conversation now (closed or handed back). "
                "It comes back here when the user asks for a person again.",
            )

    ticket.submit(relay_in_order)


async def cmd_topic(
    message: Message, desk: SupportDesk, deps: Deps, thread_id: int, command: CommandObject
) -> None:
    case = await desk.service.cases.case_for_thread(thread_id)
    if case is None:
        await _note(desk, thread_id, "No conversation is linked to this topic.")
        return
    await operator_action(desk, deps, command.command.lower(), case.id, case.user_id, thread_id)


async def handle_card_button(query: CallbackQuery, desk: SupportDesk, deps: Deps) -> None:
    message = query.message
    if not isinstance(message, Message) or message.chat.id != desk.chat_id:
        await query.answer()
        return
    _, action, ident = [*(query.data or "").split(":", 2), "", ""][:3]
    if not ident.lstrip("-").isdigit():
        await query.answer()
        return
    thread = message.message_thread_id
    if action in ("close", "bot"):
        view = await desk.service.cases.case_view(int(ident))
        if view is None:
            await query.answer("Unknown conversation")
            return
        await query.answer()
        await operator_action(desk, deps, action, view.id, view.user_id, thread)
    else:
        await query.answer()
        await operator_action(desk, deps, action, 0, int(ident), thread)


async def operator_action(
    desk: SupportDesk, deps: Deps, action: str, case_id: int, user_id: int, thread: int | None
) -> None:
    # Closing and handing back post their note before the topic closes (desk.close).
    if action == "close":
        if await desk.close(case_id, note="✅ Closed."):
            return
        note = ("Nothing to close: this conversation is closed already and the bot answers the "
                "user. It comes back here when the user asks for a person again.")
    elif action == "bot":
        if await desk.give_back(case_id, note="🤖 Handed back to the bot."):
            return
        note = "The bot has this conversation already (closed or handed back): nothing to do."
    elif action in ("block", "unblock"):
        await desk.service.cases.set_block(user_id, action == "block")
        deps.seen.forget(user_id)  # the flag takes effect on the user's next update
        note = "⛔ User blocked." if action == "block" else "♻️ User unblocked."
        view = await desk.service.cases.case_for_thread(thread) if thread is not None else None
        if view is not None and view.user_id == user_id:
            await desk.forum.refresh_card(view)  # Unblock in place of Block, or back
    else:
        return
    if thread is not None:
        await _note(desk, thread, note)


async def cmd_outside_topic(message: Message, desk: SupportDesk, command: CommandObject) -> None:
    """/close, /bot, /block or /unblock in the support chat's General: say where they work."""
    name = command.command.lower()
    send = SendMessage(
        chat_id=desk.chat_id, message_thread_id=message.message_thread_id,
        text=f"/{name} works inside a user's topic: open the topic of the conversation (its "
        f"name ends with the user's id) and send /{name} there.",
    )
    try:
        await desk.outbox.call(desk.chat_id, send)
    except (OutboxError, TelegramAPIError) as exc:
        log.info("reply to /%s outside a topic not posted: %s", name, exc)


async def _note(desk: SupportDesk, thread: int, text: str) -> None:
    await desk.note(thread, text)


async def handle_operator_edit(message: Message, desk: SupportDesk) -> None:
    await carry_edit(message, desk)


def register(router: Router, support_chat_id: int) -> None:
    """The card's buttons, then the topics' commands and messages, and the operators' edits."""
    support = F.chat.id == support_chat_id
    router.callback_query.register(handle_card_button, F.data.startswith("desk:"))
    topic = InSupportTopic()
    for name in ("close", "bot", "block", "unblock"):
        router.message.register(cmd_topic, support, topic, Command(name))
    router.message.register(handle_topic_message, support, topic)
    router.message.register(
        cmd_outside_topic, support, Command("close", "bot", "block", "unblock")
    )
    router.edited_message.register(handle_operator_edit, support, topic)
