"""The Bot API's JSON as the in-process Telegram (telegram.py) reads and writes it: a method's
parameters as sent, an error body, a keyboard, and whether a method returns a kind of object."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod


def params_of(bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
    """The method's parameters as aiogram sends them (the bot's defaults filled in, empty
    ones left out), as JSON values."""
    session = bot.session
    params: dict[str, Any] = {}
    for name in type(method).model_fields:
        value = session.prepare_value(getattr(method, name), bot=bot, files={},
                                      _dumps_json=False)
        if value is None or value in ({}, [], ""):
            continue
        params[name] = json.loads(json.dumps(value, default=plain))
    return params


def plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    return str(value)


def numeric(value: int | str) -> bool:
    return str(value).lstrip("-").isdigit()


def error_body(description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": 400, "description": description}


def keyboard_of(params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    if isinstance(markup, dict):
        return list(markup.get("inline_keyboard") or [])
    return []


def returns(returning: Any, kind: type) -> bool:
    """Whether a method's result type is `kind` (or a union holding it, or a list)."""
    if returning is kind or typing.get_origin(returning) is kind:
        return True
    if isinstance(returning, types.UnionType) or typing.get_origin(returning) is typing.Union:
        return any(returns(arg, kind) for arg in typing.get_args(returning))
    return isinstance(returning, type) and issubclass(returning, kind)
