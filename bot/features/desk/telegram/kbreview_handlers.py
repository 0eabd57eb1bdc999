"""The "Knowledge base" topic: Approve / Edit / Reject on FAQ drafts, and replies that replace
a draft's text."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.features.desk.telegram import SupportDesk
from bot.features.desk.telegram.kbreview import EDIT_HELP

log = logging.getLogger(__name__)


class InKbTopic(Filter):
    """A message in the support chat's "Knowledge base" topic."""

    async def __call__(self, message: Message, desk: SupportDesk) -> bool | dict[str, Any]:
        review = desk.kb_review
        if review is None or message.chat.id != desk.chat_id or review.thread_id is None:
            return False
        return message.message_thread_id == review.thread_id


async def handle_draft_button(query: CallbackQuery, desk: SupportDesk) -> None:
    review = desk.kb_review
    message = query.message
    _, action, ident = [*(query.data or "").split(":", 2), "", ""][:3]
    if review is None or not isinstance(message, Message) or not ident.isdigit():
        await query.answer()
        return
    reviewer = query.from_user.id
    draft_id = int(ident)
    if action == "approve":
        try:
            draft = await review.drafts.approve(draft_id, reviewer)
        except OSError as exc:
            log.error("FAQ draft %s not written to the knowledge base: %s", draft_id, exc)
            await query.answer(f"Not written: {exc.strerror or exc}", show_alert=True)
            return
        await query.answer("Approved" if draft else "Reviewed already")
    elif action == "reject":
        draft = await review.drafts.reject(draft_id, reviewer)
        await query.answer("Rejected" if draft else "Reviewed already")
    elif action == "edit":
        await query.answer()
        await review.say(EDIT_HELP)
        return
    else:
        await query.answer()
        return
    if draft is not None:
        who = query.from_user.full_name
        await review.show(draft, f"by {who}")


async def handle_draft_reply(message: Message, desk: SupportDesk) -> None:
    review = desk.kb_review
    reply_to = message.reply_to_message
    if review is None or reply_to is None or message.from_user is None:
        return
    if message.from_user.is_bot:
        return
    draft = await review.drafts.by_message(reply_to.message_id)
    if draft is None:
        return  # a conversation about something else in the topic
    edited = await review.drafts.edit(draft.id, message.text or message.caption or "")
    if edited is None:
        await review.say(
            f"Draft #{draft.id} not changed: it was reviewed already, or the reply did not "
            "hold a question line and an answer below it."
        )
        return
    await review.show(edited, f"edited by {message.from_user.full_name}")


def register(router: Router, support_chat_id: int) -> None:
    """Before the topics' relay: these messages are for the bot, not for a user."""
    router.callback_query.register(handle_draft_button, F.data.startswith("kbd:"))
    router.message.register(handle_draft_reply, F.chat.id == support_chat_id, InKbTopic())
