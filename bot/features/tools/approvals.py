"""Requests someone else approves, in the chat (a tool's `approvers`, docs/helpdesk.md): the
approvers' card (who asks, what, why, Approve and Deny, drawn as a confirmation card is), sent
privately to each signed-in member of the group or to the named chat, and what the asker is
told. Deciding, reminding and expiring are the stored call's (decisions.py, presses.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.features.tools.cards import (
    argument_blocks,
    card_keyboard,
    fitted_card,
    post_messages,
    visible,
    what_of,
)
from bot.features.tools.turnpart import WaitingCall
from bot.plugin.conversation import ChatRef
from bot.plugin.telegram import Outbox, RenderedText, Target, Translator
from bot.plugin.texts import register_texts

if TYPE_CHECKING:
    from bot.features.tools.loop import ToolLoop

log = logging.getLogger(__name__)

APPROVAL_TEXTS: dict[str, dict[str, str]] = {
    "tool_approval_title": {"en": "Approval requested: {what}",
                            "ru": "Запрос на одобрение: {what}"},
    "tool_approval_who": {"en": "Asked by: {who}", "ru": "Просит: {who}"},
    "tool_approval_why": {"en": "Why: {why}", "ru": "Зачем: {why}"},
    "tool_approval_body": {
        "en": "{arguments}\n\nNothing is done until an approver presses “Approve”. "
              "This waits {hours} h.",
        "ru": "{arguments}\n\nНичего не будет сделано, пока согласующий не нажмёт "
              "«Одобрить». Ожидание: {hours} ч.",
    },
    "tool_approve_button": {"en": "✅ Approve", "ru": "✅ Одобрить"},
    "tool_deny_button": {"en": "✖ Deny", "ru": "✖ Отклонить"},
    "tool_approved_by": {"en": "Approved by {who}.", "ru": "Одобрено: {who}."},
    "tool_denied_by": {"en": "Denied by {who}.", "ru": "Отклонено: {who}."},
    "tool_decided_by": {"en": "Already decided by {who}.", "ru": "Уже решено: {who}."},
    "tool_approval_expired": {
        "en": "This request expired: nobody decided in time; nothing was done.",
        "ru": "Срок запроса истёк: никто не принял решение; ничего не сделано.",
    },
    "tool_approval_withdrawn": {
        "en": "This request was withdrawn.",
        "ru": "Этот запрос отозван.",
    },
    "tool_approvers_group": {"en": "a member of the group “{group}”",
                             "ru": "участник группы «{group}»"},
    "tool_approvers_chat": {"en": "the approvers' chat", "ru": "чат согласующих"},
    "tool_approval_sent": {
        "en": "“{what}” needs the approval of {approvers}: I have sent the request and will "
              "tell you here what is decided.",
        "ru": "Для «{what}» нужно одобрение ({approvers}): я отправил запрос и сообщу здесь "
              "о решении.",
    },
    "tool_approval_nobody": {
        "en": "“{what}” needs the approval of {approvers}, but nobody can be asked now: the "
              "request is withdrawn and nothing was done.",
        "ru": "Для «{what}» нужно одобрение ({approvers}), но сейчас некого спросить: запрос "
              "отозван, ничего не сделано.",
    },
    "tool_request_approved": {"en": "Your request “{what}” was approved by {who}.",
                              "ru": "Ваш запрос «{what}» одобрен: {who}."},
    "tool_request_denied": {"en": "Your request “{what}” was denied by {who}.",
                            "ru": "Ваш запрос «{what}» отклонён: {who}."},
    "tool_request_expired": {
        "en": "Your request “{what}” expired: no approver decided in time; nothing was done.",
        "ru": "Срок вашего запроса «{what}» истёк: никто из согласующих не принял решение; "
              "ничего не сделано.",
    },
    "tool_approval_reminder": {
        "en": "Reminder: this request from {who} (“{what}”) still waits for a decision.",
        "ru": "Напоминание: запрос от {who} («{what}») всё ещё ждёт решения.",
    },
    "tool_own_request": {"en": "You cannot approve your own request.",
                         "ru": "Нельзя одобрить собственный запрос."},
    "tool_not_approver": {"en": "Only an approver of this request can decide it: nothing "
                                "was done.",
                          "ru": "Решение принимает только согласующий этого запроса: ничего "
                                "не сделано."},
}
register_texts(APPROVAL_TEXTS)


def approval_messages(call: WaitingCall, t: Translator, ttl: float) -> list[RenderedText]:
    """An approvers' card: who asks, what (every argument whole, folded as on a
    confirmation card) and why (their question, bounded), and what the buttons do."""
    what = what_of(call, t)
    title = "\n".join([t("tool_approval_title", what=what),
                       t("tool_approval_who", who=visible(call.asker or str(call.user_id))),
                       *([t("tool_approval_why", why=visible(call.why))] if call.why else [])])
    hours = max(1, round(ttl / 3600))
    return fitted_card(title, t("tool_confirm_details", what=what),
                       argument_blocks(call.arguments, t),
                       lambda arguments: t("tool_approval_body", arguments=arguments, hours=hours),
                       t("tool_details_above"))


async def ask_approvers(outbox: Outbox, tools: ToolLoop, call: WaitingCall,
                        t: Translator) -> str:
    """Send a request's card to its approvers: privately to each signed-in member of the
    group but the asker, or to the named chat, each in its reader's language; note where
    the cards are. What to tell the asker (in `t`): who decides, or, when nobody could be
    asked, that the request is withdrawn (it expires at once)."""
    kind, _, value = call.approvers.partition(":")
    chats: list[int] = []
    if kind == "group" and tools.directory is not None:
        chats = [member for member in await tools.directory.members(value)
                 if member != call.user_id]
    elif kind == "chat":
        chats = [int(value)]
    languages = await tools.decisions.languages(chats)
    ttl = tools.settings.approval_expire
    posted: list[tuple[int, int]] = []
    for chat_id in chats:
        reader = Translator.for_code(languages.get(chat_id))
        card = await post_messages(outbox, Target(ChatRef(chat_id, "private")),
                                   approval_messages(call, reader, ttl),
                                   card_keyboard(call.id, reader, approval=True))
        if card is not None:
            posted.append((chat_id, card))
    what = what_of(call, t)
    who = approvers_text(call.approvers, t)
    if posted:
        await tools.decisions.note_approval_cards(call.id, posted)
        log.info("tool call %s (%s) of user %s: sent to %d approver card(s) (%s)",
                 call.id, call.name, call.user_id, len(posted), call.approvers)
        return t("tool_approval_sent", what=what, approvers=who)
    log.warning("tool call %s (%s): no approver (%s) could be asked: withdrawn",
                call.id, call.name, call.approvers)
    await tools.decisions.unreachable(call.id)
    return t("tool_approval_nobody", what=what, approvers=who)


def approvers_text(approvers: str, t: Translator) -> str:
    """Who approves, as the asker is told (`group:NAME`, `chat:ID`)."""
    kind, _, value = approvers.partition(":")
    if kind == "group":
        return t("tool_approvers_group", group=value)
    return t("tool_approvers_chat")
