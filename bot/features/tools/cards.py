"""Tools in the chat: the status shown while a call runs, and the confirmation card (its text,
its buttons, and posting it).

A card names the action in the user's language (the tool's title; the description is written
for the model, not the person), shows every argument whole, and has exactly two buttons: the
first confirms, the second cancels. A long value is folded (an expandable quote, never cut);
arguments too long for one message go in messages before the card. Invisible and
direction-changing characters in the model's arguments are shown as visible marks
(`⟨U+202E⟩`), so what the person reads is what will be sent. Their callback_data carries only
the stored call's id (1-64 bytes:
https://core.telegram.org/bots/api#inlinekeyboardbutton), never the arguments; the press is
an atomic state change on the stored call (bot/features/tools/turns.py `decide`), so it runs once
however often it is pressed, on any replica, after any restart, and only on its own card.
"""

from __future__ import annotations

import asyncio
import json
import logging
import unicodedata
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageReplyMarkup, SendMessage
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyParameters,
)

from bot.features.tools.turnpart import WaitingCall, tool_turn, waiting_calls
from bot.plugin.conversation import ChatRef, TurnResult
from bot.plugin.models import ToolCall
from bot.plugin.telegram import (
    TELEGRAM_TEXT_LIMIT,
    BotService,
    Outbox,
    OutboxError,
    RenderedText,
    StreamHandle,
    Target,
    Translator,
    settled_ids,
    utf16_len,
)
from bot.plugin.texts import register_texts

if TYPE_CHECKING:
    from bot.features.tools.loop import ToolLoop

log = logging.getLogger(__name__)

PREFIX = "tool:"
CONFIRM, CANCEL = "y", "n"
# A value this short, on one line, is shown on its key's line; a longer one is folded.
INLINE_CHARS = 200
# One folded piece of a value at most this many UTF-16 units (a message holds 4096).
PIECE = 3500
HIDDEN = ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp")

TOOL_TEXTS: dict[str, dict[str, str]] = {
    "tool_running": {"en": "Looking up {name}…", "ru": "Обращаюсь к {name}…"},
    "tool_confirm_title": {
        "en": "Please confirm: {what}",
        "ru": "Подтвердите действие: {what}",
    },
    "tool_confirm_body": {
        "en": "{arguments}\n\nNothing is done until you press “Confirm”. "
        "This waits {minutes} min.",
        "ru": "{arguments}\n\nНичего не будет сделано, пока вы не нажмёте "
        "«Подтвердить». Ожидание: {minutes} мин.",
    },
    "tool_confirm_details": {
        "en": "Details of the action to confirm ({what}):",
        "ru": "Подробности действия для подтверждения ({what}):",
    },
    "tool_details_above": {
        "en": "(the details are in the messages above)",
        "ru": "(подробности — в сообщениях выше)",
    },
    "tool_no_arguments": {"en": "(no details)", "ru": "(без параметров)"},
    "tool_confirm_button": {"en": "✅ Confirm", "ru": "✅ Подтвердить"},
    "tool_cancel_button": {"en": "✖ Cancel", "ru": "✖ Отменить"},
    "tool_confirmed": {"en": "Confirmed.", "ru": "Подтверждено."},
    "tool_cancelled": {"en": "Cancelled.", "ru": "Отменено."},
    "tool_expired": {
        "en": "This confirmation has expired; nothing was done.",
        "ru": "Время подтверждения истекло; ничего не сделано.",
    },
    "tool_already": {
        "en": "This was already answered.",
        "ru": "На этот запрос уже ответили.",
    },
    "tool_limit_calls_per_hour": {
        "en": "You have reached the limit of {n} {n|action|actions} an hour: "
              "please try again later.",
        "ru": "Вы достигли предела в {n} {n|действие|действия|действий} в час: "
              "попробуйте позже.",
    },
    "tool_limit_writes_per_day": {
        "en": "You have reached the limit of {n} {n|change|changes} a day: "
              "please try again tomorrow.",
        "ru": "Вы достигли предела в {n} {n|изменение|изменения|изменений} в сутки: "
              "попробуйте завтра.",
    },
    "tool_not_this_card": {
        "en": "This button does not belong to this confirmation: nothing was done.",
        "ru": "Эта кнопка не относится к этому подтверждению: ничего не сделано.",
    },
    "tool_not_yours": {
        "en": "Only the person who asked can confirm this.",
        "ru": "Подтвердить может только тот, кто попросил.",
    },
    # Requests someone else approves (a tool's `approvers`, docs/helpdesk.md).
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
register_texts(TOOL_TEXTS)


def running_status(calls: tuple[ToolCall, ...], t: Translator) -> str:
    """"Looking up order_status…", one line per distinct tool of the round."""
    names = list(dict.fromkeys(call.name for call in calls))
    return "\n".join(t("tool_running", name=name) for name in names)


def what_of(call: WaitingCall, t: Translator) -> str:
    """The action in the reader's language (its title, else the tool's name: the
    description is English written for the model)."""
    return call.titles.get(t.language) or call.titles.get("en") or call.name


def card_messages(call: WaitingCall, t: Translator, ttl: float) -> list[RenderedText]:
    """The card: the action in the user's language, every argument whole, and what the
    buttons do. One message when it fits; else the arguments in messages before it, and the
    card (the last, which gets the buttons) says so."""
    what = what_of(call, t)
    minutes = max(1, round(ttl / 60))
    return _card(t("tool_confirm_title", what=what), t("tool_confirm_details", what=what),
                 _blocks(call.arguments, t),
                 lambda arguments: t("tool_confirm_body", arguments=arguments, minutes=minutes),
                 t("tool_details_above"))


def approval_messages(call: WaitingCall, t: Translator, ttl: float) -> list[RenderedText]:
    """An approvers' card: who asks, what (every argument whole, folded as on a
    confirmation card) and why (their question, bounded), and what the buttons do."""
    what = what_of(call, t)
    title = "\n".join([t("tool_approval_title", what=what),
                       t("tool_approval_who", who=_visible(call.asker or str(call.user_id))),
                       *([t("tool_approval_why", why=_visible(call.why))] if call.why else [])])
    hours = max(1, round(ttl / 3600))
    return _card(title, t("tool_confirm_details", what=what), _blocks(call.arguments, t),
                 lambda arguments: t("tool_approval_body", arguments=arguments, hours=hours),
                 t("tool_details_above"))


def _card(
    title: str, details: str, blocks: list[tuple[str, bool]], body: Callable[[str], str],
    above: str,
) -> list[RenderedText]:
    """`title` with the arguments' `blocks` and `body` in one message when it fits; else the
    blocks in messages headed `details`, then the card saying they are `above`."""
    whole = _joined([(title + "\n\n", False), *blocks], body)
    if utf16_len(whole.text) <= TELEGRAM_TEXT_LIMIT:
        return [whole]
    messages: list[RenderedText] = []
    current: list[tuple[str, bool]] = [(details + "\n\n", False)]
    size = utf16_len(current[0][0])
    for text, folded in blocks:
        if size + utf16_len(text) + 2 > TELEGRAM_TEXT_LIMIT and len(current) > 1:
            messages.append(_rendered(current))
            current, size = [], 0
        current.append((text, folded))
        size += utf16_len(text)
    if current:
        messages.append(_rendered(current))
    card = _joined([(title + "\n\n", False)], body, arguments=above)
    return [*messages, card]


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
    languages = await tools.languages(chats)
    ttl = tools.settings.approval_expire
    posted: list[tuple[int, int]] = []
    for chat_id in chats:
        reader = Translator.for_code(languages.get(chat_id))
        card = await post_card(outbox, Target(ChatRef(chat_id, "private")), call,
                               reader, ttl, approval=True)
        if card is not None:
            posted.append((chat_id, card))
    what = what_of(call, t)
    who = approvers_text(call.approvers, t)
    if posted:
        await tools.note_approval_cards(call.id, posted)
        log.info("tool call %s (%s) of user %s: sent to %d approver card(s) (%s)",
                 call.id, call.name, call.user_id, len(posted), call.approvers)
        return t("tool_approval_sent", what=what, approvers=who)
    log.warning("tool call %s (%s): no approver (%s) could be asked: withdrawn",
                call.id, call.name, call.approvers)
    await tools.unreachable(call.id)
    return t("tool_approval_nobody", what=what, approvers=who)


async def post_card(
    outbox: Outbox, target: Target, call: WaitingCall, t: Translator, ttl: float, *,
    approval: bool = False,
) -> int | None:
    """Send a call's confirmation (`approval`: its approvers' card): the messages holding
    its long values first, then the card with the buttons; the card's message id, or None
    when any of them was not delivered (no buttons under a card whose details are
    missing)."""
    chat_id = target.chat.chat_id
    *details, card = (approval_messages if approval else card_messages)(call, t, ttl)
    sent = None
    for index, shown in enumerate([*details, card]):
        method = SendMessage(
            chat_id=chat_id,
            **shown.send_kwargs(),  # type: ignore[arg-type]
            reply_markup=card_keyboard(call.id, t, approval=approval) if shown is card
            else None,
            message_thread_id=target.thread_id,
            reply_parameters=(
                ReplyParameters(message_id=target.reply_to, allow_sending_without_reply=True)
                if target.reply_to and index == 0 else None
            ),
        )
        try:
            sent = await outbox.call(chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("chat %s: the confirmation card was not delivered: %s", chat_id, exc)
            return None
    return sent.message_id if sent is not None else None


def card_keyboard(call_id: int, t: Translator, *, approval: bool = False) -> InlineKeyboardMarkup:
    """Exactly two buttons: the first confirms (approves), the second cancels (denies)."""
    yes, no = ("tool_approve_button", "tool_deny_button") if approval else (
        "tool_confirm_button", "tool_cancel_button")
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t(yes), callback_data=f"{PREFIX}{CONFIRM}:{call_id}"),
        InlineKeyboardButton(text=t(no), callback_data=f"{PREFIX}{CANCEL}:{call_id}"),
    ]])


def approvers_text(approvers: str, t: Translator) -> str:
    """Who approves, as the asker is told (`group:NAME`, `chat:ID`)."""
    kind, _, value = approvers.partition(":")
    if kind == "group":
        return t("tool_approvers_group", group=value)
    return t("tool_approvers_chat")


def parse(data: str) -> tuple[bool, int] | None:
    """(confirmed, call id) from a button's callback_data; None when it is not ours."""
    parts = data.removeprefix(PREFIX).split(":")
    if not data.startswith(PREFIX) or len(parts) != 2 or not parts[1].isdigit():
        return None
    if parts[0] not in (CONFIRM, CANCEL):
        return None
    return parts[0] == CONFIRM, int(parts[1])


def _visible(text: str) -> str:
    """`text` with each invisible or direction-changing character shown as ⟨U+XXXX⟩ (tabs
    and newlines kept)."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        f"⟨U+{ord(char):04X}⟩"
        if char not in "\n\t" and unicodedata.category(char) in HIDDEN else char
        for char in text
    )


def _blocks(arguments: Mapping[str, object], t: Translator) -> list[tuple[str, bool]]:
    """The arguments as (text, folded) pieces in order: a short value on its key's line, a
    long one folded under it, in pieces that each fit a message."""
    if not arguments:
        return [(t("tool_no_arguments"), False)]
    blocks: list[tuple[str, bool]] = []
    for key, value in arguments.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        shown = _visible(shown)
        label = f"• {_visible(str(key))}:"
        if len(shown) <= INLINE_CHARS and "\n" not in shown:
            blocks.append((f"{label} {shown}\n", False))
            continue
        blocks.append((label + "\n", False))
        for piece in _pieces(shown):
            blocks.append((piece, True))
            blocks.append(("\n", False))
    return blocks


def _pieces(text: str) -> list[str]:
    """`text` in pieces of at most PIECE UTF-16 units (a surrogate pair never split)."""
    pieces, start, size = [], 0, 0
    for index, char in enumerate(text):
        width = 2 if ord(char) > 0xFFFF else 1
        if size + width > PIECE:
            pieces.append(text[start:index])
            start, size = index, 0
        size += width
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]


def _rendered(parts: list[tuple[str, bool]]) -> RenderedText:
    """Plain text, with the folded parts as expandable quotes."""
    text, entities, offset = "", [], 0
    for part, folded in parts:
        length = utf16_len(part)
        if folded:
            entities.append(MessageEntity(type="expandable_blockquote", offset=offset,
                                          length=length))
        text += part
        offset += length
    stripped = text.rstrip("\n")
    end = utf16_len(stripped)  # a folded part may have ended in the newlines taken off
    kept = [
        MessageEntity(type=e.type, offset=e.offset, length=min(e.length, end - e.offset))
        for e in entities if e.offset < end
    ]
    return RenderedText(stripped, kept)


def _joined(
    parts: list[tuple[str, bool]], body: Callable[[str], str], *, arguments: str = ""
) -> RenderedText:
    """The card's text: its parts, then `arguments` (when they are not among the parts) and
    what the buttons do (`body`)."""
    head = _rendered(parts)
    return RenderedText(head.text + ("\n\n" if arguments else "") + body(arguments),
                        head.entities)


class ToolCards(BotService):
    """The tool loop's side of an answer (a `CallDelivery`): the running calls named, a card
    per call that waits for a press, the notice of a per-user tool limit reached, the buttons
    taken off cards a new message declined. Its background edits are a `BotService`'s work
    (waited for by `wait_idle`, finished at shutdown)."""

    def __init__(self, outbox: Outbox, tools: ToolLoop | None) -> None:
        self.outbox = outbox
        self.tools = tools
        self._tasks: set[asyncio.Task[None]] = set()

    def running(self, calls: tuple[ToolCall, ...], t: Translator) -> str:
        return running_status(calls, t)

    async def delivered(self, target: Target, result: TurnResult, t: Translator) -> None:
        """A per-user tool limit reached this turn: the model was told; the user hears it
        from us."""
        kind = tool_turn(result).limit_reached
        if kind is not None:
            await self.tell_limit(target, kind, t)

    async def tell_limit(self, target: Target, kind: str, t: Translator) -> None:
        """One line in the user's language: a per-user tool limit was reached this turn."""
        tools = self.tools
        settings = tools.settings if tools is not None else None
        count = 0 if settings is None else (settings.writes_per_user_day
                                            if kind == "writes_per_day"
                                            else settings.calls_per_user_hour)
        method = SendMessage(chat_id=target.chat.chat_id, text=t(f"tool_limit_{kind}", n=count),
                             message_thread_id=target.thread_id)
        try:
            await self.outbox.call(target.chat.chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("chat %s: the tool limit notice was not delivered: %s",
                        target.chat.chat_id, exc)

    async def ask(
        self, target: Target, handle: StreamHandle, result: TurnResult, t: Translator
    ) -> list[int]:
        """The turn waits for a press: what the model wrote stays, then one card per call."""
        ids = await settled_ids(handle.finish(result.text)) if result.text.strip() else []
        if not ids:
            handle.drop()
        tools = self.tools
        ttl = tools.settings.confirm_ttl if tools is not None else 600.0
        for call in waiting_calls(result):
            if call.approvers and tools is not None:
                await self._ask_approvers(tools, target, call, t)
                continue
            card = await post_card(self.outbox, target, call, t, ttl)
            if card is not None and tools is not None:
                self._keep(tools.note_card(call.id, card))
        return ids

    async def _ask_approvers(
        self, tools: ToolLoop, target: Target, call: WaitingCall, t: Translator
    ) -> None:
        """The card goes to the approvers, not the asker; the asker is told who decides (or,
        when nobody can be asked, that the request is withdrawn: it expires at once)."""
        text = await ask_approvers(self.outbox, tools, call, t)
        await self.tell(target.chat.chat_id, text, thread_id=target.thread_id)

    async def tell(self, chat_id: int, text: str, *, thread_id: int | None = None) -> None:
        """One line in a chat (nothing is lost if it fails)."""
        try:
            await self.outbox.call(chat_id, SendMessage(chat_id=chat_id, text=text,
                                                        message_thread_id=thread_id))
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("chat %s: a line of the tools was not delivered: %s", chat_id, exc)

    def superseded(self, chat_id: int, cards: list[int]) -> None:
        """A new message declined the calls these cards asked about: their buttons go."""
        for card in cards:
            self._keep(self._uncard(chat_id, card))

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def shutdown(self) -> None:
        await self.wait_idle()

    def _keep(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _uncard(self, chat_id: int, card: int) -> None:
        method = EditMessageReplyMarkup(chat_id=chat_id, message_id=card, reply_markup=None)
        try:
            await self.outbox.call(chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            log.info("chat %s: the buttons of card %s stay: %s", chat_id, card, exc)
