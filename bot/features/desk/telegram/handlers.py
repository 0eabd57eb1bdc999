"""The support desk's handlers (only with SUPPORT_CHAT_ID): handoff requests, the user's
messages relayed to their topic, ratings and answer feedback, /stats; the support chat's side
(operators' relays, the topics' commands, the card's buttons) is in operator_handlers.py.

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
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.features.desk.domain import asks_for_person, is_question
from bot.features.desk.domain.report import build_report, format_report
from bot.features.desk.storage.models import HandoffReason
from bot.features.desk.telegram import SupportDesk
from bot.features.desk.telegram import kbreview_handlers as kbreview
from bot.features.desk.telegram import operator_handlers as operators
from bot.features.desk.telegram.messages import carry_edit, command_name, requester
from bot.features.desk.telegram.transcripts import transcript_for_operators
from bot.plugin.telegram import (
    Deps,
    Hearing,
    OutboxError,
    Ticket,
    Translator,
    audio_of,
    help_text,
    say,
    thread_of,
)

log = logging.getLogger(__name__)

# Commands a user may still give while a person owns the conversation; others are relayed.
WHILE_OWNED = frozenset({"forget", "privacy", "help", "start", "operator", "stop", "stats",
                         "report"})


class OwnedByPerson(Filter):
    """A private message from a user whose conversation a person owns (not a kept command)."""

    async def __call__(self, message: Message, desk: SupportDesk) -> bool:
        if message.from_user is None or not await desk.service.is_owned(message.from_user.id):
            return False
        return command_name(message) not in WHILE_OWNED


def _remark(message: Message) -> int | None:
    """The sender of a plain text that is not a command (what a rating's comment may be)."""
    user = message.from_user
    if user is None or command_name(message) is not None or not message.text:
        return None
    return user.id


class Commenting(Filter):
    async def __call__(self, message: Message, desk: SupportDesk) -> bool:
        user_id = _remark(message)
        return user_id is not None and await desk.service.is_commenting(user_id)


class CommentAfterRating(Filter):
    """The first text after a rating, within minutes, when it is not a question: the rating's
    comment, as if "Add a comment" had been pressed. Someone who rates 2 and then writes "the
    courier was rude" is commenting on the rating; answered as a question it would be listed
    as a gap of the knowledge base. "How do I return it?" or "one more question" is a new
    question, answered as usual."""

    async def __call__(self, message: Message, desk: SupportDesk) -> bool:
        user_id = _remark(message)
        text = message.text or ""
        return (
            user_id is not None
            and desk.service.closing.just_rated(user_id)
            and not is_question(text)
            and not asks_for_person(text)
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
            # The operators get the transcript beside the voice note, after it.
            await transcript_for_operators(hearing, desk.outbox, message, desk.chat_id, thread,
                                           after=desk.relayer.tried(relay.id))

    ticket.submit(relay_in_order)


async def handle_comment(message: Message, desk: SupportDesk, t: Translator) -> None:
    user = message.from_user
    assert user is not None
    comment = await desk.service.closing.take_comment(user.id, message.text or "")
    if comment is not None:
        await desk.tell(user.id, t("desk_comment_thanks"))
        # "The team will read it": in the user's topic, where the operators look.
        await desk.post_comment(comment)


async def handle_comment_after_rating(
    message: Message, desk: SupportDesk, t: Translator
) -> None:
    user = message.from_user
    assert user is not None
    comment = await desk.service.closing.comment_after_rating(user.id, message.text or "")
    if comment is None:  # commented already: the message is the chat's
        raise SkipHandler
    await desk.tell(user.id, t("desk_comment_thanks"))
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
        chat_id=message.chat.id, text=help_text(deps, t) + t("desk_help_extra"),
        reply_markup=keyboard,
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
    """An edit of a message relayed to a person is carried to its copy; any other edit is
    the chat's (the bot answers an edited question anew: handlers/chat.py)."""
    user = message.from_user
    owned = user is not None and await desk.service.is_owned(user.id)
    if not owned and await desk.service.relays.relay_of(
            message.chat.id, message.message_id) is None:
        raise SkipHandler
    await carry_edit(message, desk)


# -- admins ---------------------------------------------------------------------------------------
async def cmd_desk_stats(
    message: Message, desk: SupportDesk, deps: Deps, is_admin: bool, command: CommandObject,
    t: Translator,
) -> None:
    """/stats [days] for admins: the desk's report, then the usage figures (commands.py)."""
    if not is_admin:
        raise SkipHandler
    if _report_belongs(message, desk):
        await _send_report(message, desk, deps, command)
    else:  # the usage figures still follow: totals, no customer's words
        await say(deps, message, t("desk_report_elsewhere"))
    raise SkipHandler


async def cmd_desk_report(
    message: Message, desk: SupportDesk, deps: Deps, is_admin: bool, command: CommandObject,
    t: Translator,
) -> None:
    """/report [days] for admins: the desk's report alone (what `fmbot report` prints)."""
    if not is_admin:
        raise SkipHandler
    if not _report_belongs(message, desk):
        await say(deps, message, t("desk_report_elsewhere"))
        return
    await _send_report(message, desk, deps, command)


def _report_belongs(message: Message, desk: SupportDesk) -> bool:
    """The report quotes customers' words and links into the support chat: it is shown only
    there and in the admin's private chat with the bot, never in a group that others read."""
    return message.chat.type == "private" or message.chat.id == desk.chat_id


async def _send_report(
    message: Message, desk: SupportDesk, deps: Deps, command: CommandObject
) -> None:
    days = int(command.args) if command.args and command.args.strip().isdigit() else 7
    report = await build_report(
        desk.service.sessionmaker, days=max(1, min(days, 3650)), hours=desk.options.hours,
        idle=desk.options.idle,
    )
    await deps.notify(message.chat.id, format_report(report), thread_id=thread_of(message))


def build_router(support_chat_id: int) -> Router:
    router = Router(name=__name__)
    private = F.chat.type == "private"
    router.callback_query.register(handle_forget_yes, F.data.startswith("forget:yes:"))
    router.callback_query.register(handle_ask_button, F.data == "desk:ask")
    router.callback_query.register(handle_rating, F.data.startswith("csat:"))
    router.callback_query.register(handle_feedback, F.data.startswith("fb:"))
    kbreview.register(router, support_chat_id)  # FAQ drafts' topic, before relays
    operators.register(router, support_chat_id)  # the card's buttons ("desk:..."), topics
    router.edited_message.register(handle_user_edit, private)
    router.message.register(handle_owned_message, private, OwnedByPerson())
    router.message.register(handle_comment, private, Commenting())
    router.message.register(handle_comment_after_rating, private, CommentAfterRating())
    router.message.register(cmd_operator, private, Command("operator"))
    router.message.register(cmd_help, private, Command("help"))
    router.message.register(cmd_desk_stats, Command("stats"))
    router.message.register(cmd_desk_report, Command("report"))
    router.message.register(handle_person_words, private, F.text, AsksForPerson())
    return router
