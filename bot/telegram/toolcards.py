"""Tools in the chat: the status shown while a call runs, and the confirmation card.

A card names the action in the user's language (the tool's title; the description is written
for the model, not the person), shows the arguments, and has
exactly two buttons: the first confirms, the second cancels. Their callback_data carries only
the stored call's id (1-64 bytes: tools.md §6), never the arguments; the press is an atomic
state change on the stored call (bot/conversation/tool_turns.py `decide`), so it runs once
however often it is pressed, on any replica, after any restart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.conversation import WaitingCall
from bot.foundation_models.types import ToolCall
from bot.telegram.texts import TEXTS, Translator

log = logging.getLogger(__name__)

PREFIX = "tool:"
CONFIRM, CANCEL = "y", "n"
ARGUMENT_CHARS = 300  # one argument's value on the card; longer ones are cut

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
TEXTS.update(TOOL_TEXTS)


def running_status(calls: tuple[ToolCall, ...], t: Translator) -> str:
    """"Looking up order_status…", one line per distinct tool of the round."""
    names = list(dict.fromkeys(call.name for call in calls))
    return "\n".join(t("tool_running", name=name) for name in names)


def card_text(call: WaitingCall, t: Translator, ttl: float) -> str:
    """The action in the user's language (its title, else the tool's name: the description
    is English written for the model), its arguments, and what the buttons do."""
    what = call.titles.get(t.language) or call.titles.get("en") or call.name
    return (
        t("tool_confirm_title", what=what)
        + "\n\n"
        + t(
            "tool_confirm_body",
            arguments=_arguments(call.arguments, t),
            minutes=max(1, round(ttl / 60)),
        )
    )


def card_keyboard(call_id: int, t: Translator) -> InlineKeyboardMarkup:
    """Exactly two buttons: the first confirms, the second cancels."""
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("tool_confirm_button"),
                             callback_data=f"{PREFIX}{CONFIRM}:{call_id}"),
        InlineKeyboardButton(text=t("tool_cancel_button"),
                             callback_data=f"{PREFIX}{CANCEL}:{call_id}"),
    ]])


def parse(data: str) -> tuple[bool, int] | None:
    """(confirmed, call id) from a button's callback_data; None when it is not ours."""
    parts = data.removeprefix(PREFIX).split(":")
    if not data.startswith(PREFIX) or len(parts) != 2 or not parts[1].isdigit():
        return None
    if parts[0] not in (CONFIRM, CANCEL):
        return None
    return parts[0] == CONFIRM, int(parts[1])


def _arguments(arguments: Mapping[str, object], t: Translator) -> str:
    if not arguments:
        return t("tool_no_arguments")
    lines = []
    for key, value in arguments.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(shown) > ARGUMENT_CHARS:
            shown = shown[:ARGUMENT_CHARS] + "…"
        lines.append(f"• {key}: {shown}")
    return "\n".join(lines)
