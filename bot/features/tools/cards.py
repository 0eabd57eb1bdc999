"""Tools in the chat: the status shown while a call runs, and the confirmation card (its text,
its buttons, and posting it; an approvers' card is drawn the same way, approvals.py).

A card names the action in the user's language (the tool's title; the description is written
for the model, not the person), shows every argument whole, and has exactly two buttons: the
first confirms, the second cancels. A long value is folded (an expandable quote, never cut);
arguments too long for one message go in messages before the card. Invisible and
direction-changing characters in the model's arguments are shown as visible marks
(`⟨U+202E⟩`), so what the person reads is what will be sent. Their callback_data carries only
the stored call's id (1-64 bytes:
https://core.telegram.org/bots/api#inlinekeyboardbutton), never the arguments; the press is
an atomic state change on the stored call (bot/features/tools/decisions.py `decide`), so it
runs once however often it is pressed, on any replica, after any restart, and only on its own
card.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SendMessage
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyParameters,
)

from bot.features.tools.turnpart import WaitingCall
from bot.plugin.models import ToolCall
from bot.plugin.telegram import (
    TELEGRAM_TEXT_LIMIT,
    Outbox,
    OutboxError,
    RenderedText,
    Target,
    Translator,
    utf16_len,
)
from bot.plugin.texts import register_texts

if TYPE_CHECKING:
    pass

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
    return fitted_card(t("tool_confirm_title", what=what), t("tool_confirm_details", what=what),
                       argument_blocks(call.arguments, t),
                       lambda arguments: t("tool_confirm_body", arguments=arguments,
                                           minutes=minutes),
                       t("tool_details_above"))


def fitted_card(
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


async def post_card(
    outbox: Outbox, target: Target, call: WaitingCall, t: Translator, ttl: float
) -> int | None:
    """Send a call's confirmation card to the asker (see `post_messages`)."""
    return await post_messages(outbox, target, card_messages(call, t, ttl),
                               card_keyboard(call.id, t))


async def post_messages(
    outbox: Outbox, target: Target, shown: list[RenderedText], keyboard: InlineKeyboardMarkup,
) -> int | None:
    """Send a card (a confirmation, an approvers' card): the messages holding its long values
    first, then the card with the buttons; the card's message id, or None when any of them
    was not delivered (no buttons under a card whose details are missing)."""
    chat_id = target.chat.chat_id
    *details, card = shown
    sent = None
    for index, message in enumerate([*details, card]):
        method = SendMessage(
            chat_id=chat_id,
            **message.send_kwargs(),  # type: ignore[arg-type]
            reply_markup=keyboard if message is card else None,
            message_thread_id=target.thread_id,
            reply_parameters=(
                ReplyParameters(message_id=target.reply_to, allow_sending_without_reply=True)
                if target.reply_to and index == 0 else None
            ),
        )
        try:
            sent = await outbox.call(chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("chat %s: the card was not delivered: %s", chat_id, exc)
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


def parse(data: str) -> tuple[bool, int] | None:
    """(confirmed, call id) from a button's callback_data; None when it is not ours."""
    parts = data.removeprefix(PREFIX).split(":")
    if not data.startswith(PREFIX) or len(parts) != 2 or not parts[1].isdigit():
        return None
    if parts[0] not in (CONFIRM, CANCEL):
        return None
    return parts[0] == CONFIRM, int(parts[1])


def visible(text: str) -> str:
    """`text` with each invisible or direction-changing character shown as ⟨U+XXXX⟩ (tabs
    and newlines kept)."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        f"⟨U+{ord(char):04X}⟩"
        if char not in "\n\t" and unicodedata.category(char) in HIDDEN else char
        for char in text
    )


def argument_blocks(arguments: Mapping[str, object], t: Translator) -> list[tuple[str, bool]]:
    """The arguments as (text, folded) pieces in order: a short value on its key's line, a
    long one folded under it, in pieces that each fit a message."""
    if not arguments:
        return [(t("tool_no_arguments"), False)]
    blocks: list[tuple[str, bool]] = []
    for key, value in arguments.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        shown = visible(shown)
        label = f"• {visible(str(key))}:"
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
