"""The support desk's handlers (only with SUPPORT_CHAT_ID): handoff requests, relays both
ways, operator commands and the card's buttons, ratings and answer feedback.

Registered before every other router but errors, so a user a person owns never reaches the
model: their messages are copied into their topic instead.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, Filter
from aiogram.methods import EditMessageCaption, EditMessageText, SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.features.desk.domain import Requester, asks_for_person
from bot.features.desk.domain.report import build_report, format_report
from bot.features.desk.storage.models import DeskStatus, HandoffReason, RelayDirection
from bot.features.desk.telegram import SupportDesk
from bot.features.desk.telegram import kbreview_handlers as kbreview
from bot.telegram.chatqueue import Ticket
from bot.telegram.deps import Deps, thread_of
from bot.telegram.media.audio import Hearing, audio_of
from bot.telegram.media.operators import transcript_for_operators
from bot.telegram.outbox import OutboxError
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)

# Commands a user may still give while a person owns the conversation; others are relayed.
WHILE_OWNED = frozenset({"forget", "privacy", "help", "start", "operator", "stop", "stats"})


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


class OwnedByPerson(Filter):
    """A private message from a user whose conversation a person owns (not a kept command)."""

    async def __call__(self, message: Message, desk: SupportDesk) -> bool:
        if message.from_user is None or not await desk.service.is_owned(message.from_user.id):
            return False
        return command_name(message) not in WHILE_OWNED


class Commenting(Filter):
    async def __call__(self, message: Message, desk: SupportDesk) -> bool:
        user = message.from_user
        return (
            user is not None
            and command_name(message) is None
            and bool(message.text)
            and await desk.service.is_commenting(user.id)
        )


class AsksForPerson(Filter):
    """The words ("оператор", "живой человек", "human"...) or, with HANDOFF_CLASSIFIER=on, the
    classifier's verdict; gives the handler ``reason``."""

    async def __call__(self, message: Message, desk: SupportDesk) -> bool | dict[str, Any]:
        text = message.text or ""
        if command_name(message) is not None or not text.strip():
            return False
        if asks_for_person(text):
            return {"reason": HandoffReason.USER_REQUEST}
        reason = await desk.classify_message(text)
        return {"reason": reason} if reason is not None else False


class InSupportTopic(Filter):
    """A message in one of the support chat's topics; gives ``thread_id``."""

    async def __call__(self, message: Message, desk: SupportDesk) -> bool | dict[str, Any]:
        if message.chat.id != desk.chat_id or not message.is_topic_message:
            return False
        if message.message_thread_id is None:
            return False
        return {"thread_id": message.message_thread_id}


# -- the user's side ------------------------------------------------------------------------------
async def handle_owned_message(
    message: Message, desk: SupportDesk, ticket: Ticket, hearing: Hearing | None = None
) -> None:
    """`hearing`: voice notes heard (SPEECH_RECOGNITION). Quick messages reach the topic in
    the order written, not in the order their handlers end: the relay is the chat's job."""
    user = message.from_user
    assert user is not None

    async def relay_in_order() -> None:
        relay = await desk.service.relays.relay_from_user(
            user.id, message.chat.id, message.message_id, message.text or message.caption or "")
        if relay is None:
            return
        desk.relayer.submit(relay)
        thread = relay.thread_id
        if hearing is not None and thread is not None and audio_of(message) is not None:
            # The operators get the transcript beside the voice note.
            await transcript_for_operators(hearing, desk.outbox, message, desk.chat_id, thread)

    ticket.submit(relay_in_order)


async def handle_comment(message: Message, desk: SupportDesk, t: Translator) -> None:
    user = message.from_user
    assert user is not None
    comment = await desk.service.closing.take_comment(user.id, message.text or "")
    if comment is not None:
        await desk.tell(user.id, t("desk_comment_thanks"))
        # "The team will read it": in the user's topic, where the operators look.
        await desk.post_comment(comment)


async def cmd_operator(message: Message, desk: SupportDesk, t: Translator) -> None:
    who = requester(message)
    if who is not None:
        await desk.hand_over(who, HandoffReason.USER_REQUEST, t)


async def handle_person_words(
    message: Message, desk: SupportDesk, t: Translator, reason: HandoffReason
) -> None:
    who = requester(message)
    if who is not None:
        await desk.hand_over(who, reason, t)


async def cmd_help(message: Message, desk: SupportDesk, deps: Deps, t: Translator) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=t("desk_ask_button"), callback_data="desk:ask")]
        ]
    )
    send = SendMessage(
        chat_id=message.chat.id, text=t("help") + t("desk_help_extra"), reply_markup=keyboard
    )
    try:
        await deps.outbox.call(message.chat.id, send)
    except (OutboxError, TelegramAPIError) as exc:
        log.warning("help not sent to %s: %s", message.chat.id, exc)


async def handle_ask_button(query: CallbackQuery, desk: SupportDesk, t: Translator) -> None:
    await query.answer()
    who = requester(query)
    if who is not None and query.message is not None and query.message.chat.type == "private":
        await desk.hand_over(who, HandoffReason.USER_REQUEST, t)


async def handle_rating(query: CallbackQuery, desk: SupportDesk, t: Translator) -> None:
    # "csat:<case>:<1-5>" or "csat:<case>:comment"
    _, case, value = [*(query.data or "").split(":", 2), "", ""][:3]
    if not case.isdigit():
        await query.answer()
        return
    if value == "comment":
        ok = await desk.service.closing.want_comment(int(case), query.from_user.id)
        await query.answer()
        if ok:
            await desk.tell(query.from_user.id, t("desk_comment_ask"))
        return
    if not value.isdigit() or not await desk.service.closing.rate(
        int(case), query.from_user.id, int(value)
    ):
        await query.answer(t("desk_rated_once"))
        return
    await query.answer(t("desk_rated", score=value))
    if isinstance(query.message, Message):
        chat_id = query.message.chat.id
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=t("desk_comment_button"), callback_data=f"csat:{case}:comment"
                    )
                ]
            ]
        )
        edit = EditMessageText(
            chat_id=chat_id,
            message_id=query.message.message_id,
            text=t("desk_rated", score=value),
            reply_markup=keyboard,
        )
        try:
            await desk.outbox.call(chat_id, edit)
        except (OutboxError, TelegramAPIError) as exc:
            log.info("rating message not updated: %s", exc)


async def handle_feedback(query: CallbackQuery, desk: SupportDesk, t: Translator) -> None:
    _, turn, value = [*(query.data or "").split(":", 2), "", ""][:3]
    ok = turn.isdigit() and await desk.service.feedback(
        int(turn), query.from_user.id, 1 if value == "up" else -1
    )
    await query.answer(t("desk_feedback_thanks") if ok else None)


async def handle_forget_yes(query: CallbackQuery, desk: SupportDesk) -> None:
    """/forget confirmed: the desk's part (topic, relays, ratings) goes first; then the
    commands router deletes the rest (SkipHandler lets it run)."""
    if (query.data or "") == f"forget:yes:{query.from_user.id}":
        await desk.forget(query.from_user.id)
    raise SkipHandler


async def handle_user_edit(message: Message, desk: SupportDesk) -> None:
    await carry_edit(message, desk)


# -- the operators' side --------------------------------------------------------------------------
async def handle_topic_message(message: Message, desk: SupportDesk, thread_id: int) -> None:
    text = message.text or message.caption or ""
    if text.startswith("//") or message.forum_topic_created or message.forum_topic_closed:
        return  # an internal note (or a service message): stays in the topic
    if message.forum_topic_reopened or message.from_user is None or message.from_user.is_bot:
        return
    if command_name(message) is not None:
        raise SkipHandler  # another command (/stats...) is for the bot, not for the user
    relay = await desk.service.relays.relay_from_operator(
        thread_id, message.message_id, text, requester(message)
    )
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


# -- admins ---------------------------------------------------------------------------------------
async def cmd_desk_stats(
    message: Message, desk: SupportDesk, deps: Deps, is_admin: bool, command: CommandObject
) -> None:
    """/stats [days] for admins: the desk's report, then the usage figures (commands.py)."""
    if not is_admin:
        raise SkipHandler
    days = int(command.args) if command.args and command.args.strip().isdigit() else 7
    report = await build_report(
        desk.service.sessionmaker, days=max(1, min(days, 3650)), hours=desk.options.hours
    )
    await deps.notify(message.chat.id, format_report(report), thread_id=thread_of(message))
    raise SkipHandler


def build_router(support_chat_id: int) -> Router:
    router = Router(name=__name__)
    private = F.chat.type == "private"
    support = F.chat.id == support_chat_id
    router.callback_query.register(handle_forget_yes, F.data.startswith("forget:yes:"))
    router.callback_query.register(handle_ask_button, F.data == "desk:ask")
    router.callback_query.register(handle_card_button, F.data.startswith("desk:"))
    router.callback_query.register(handle_rating, F.data.startswith("csat:"))
    router.callback_query.register(handle_feedback, F.data.startswith("fb:"))
    kbreview.register(router, support_chat_id)  # FAQ drafts' topic, before relays
    topic = InSupportTopic()
    for name in ("close", "bot", "block", "unblock"):
        router.message.register(cmd_topic, support, topic, Command(name))
    router.message.register(handle_topic_message, support, topic)
    router.message.register(
        cmd_outside_topic, support, Command("close", "bot", "block", "unblock")
    )
    router.edited_message.register(handle_operator_edit, support, topic)
    router.edited_message.register(handle_user_edit, private)
    router.message.register(handle_owned_message, private, OwnedByPerson())
    router.message.register(handle_comment, private, Commenting())
    router.message.register(cmd_operator, private, Command("operator"))
    router.message.register(cmd_help, private, Command("help"))
    router.message.register(cmd_desk_stats, Command("stats"))
    router.message.register(handle_person_words, private, F.text, AsksForPerson())
    return router
