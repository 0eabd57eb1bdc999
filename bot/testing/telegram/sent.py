"""A call as aiogram's `AiohttpSession` writes it, for the in-process fake (session.py): the
form the fake's handlers answer (`form_of`), and the parameters a `SentCall` shows
(`params_of`). Over HTTP (tests/fakes/telegram/server.py) aiogram writes the same form
itself."""

from __future__ import annotations

import json
import mimetypes
import typing
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.types import InputFile

from bot.testing.telegram.wire import Params, UploadedFile


async def form_of(session: BaseSession, bot: Bot, method: TelegramMethod[Any]) -> Params:
    """The form AiohttpSession.build_form_data sends: every value prepared (JSON strings for
    objects and lists, "true" for booleans, empty ones left out), each file read into its
    upload part (`attach://<key>`)."""
    files: dict[str, InputFile] = {}
    values: dict[str, Any] = {}
    for key, value in method.model_dump(warnings=False).items():
        prepared = session.prepare_value(value, bot=bot, files=files)
        if prepared:
            values[key] = prepared
    uploads: dict[str, UploadedFile] = {}
    for key, file in files.items():
        data = b"".join([chunk async for chunk in file.read(bot)])
        filename = file.filename or key
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        uploads[key] = UploadedFile(key, filename, content_type, data)
    return Params(values, uploads)


def params_of(bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
    """The method's parameters as aiogram sends them (the bot's defaults filled in, empty
    ones left out), as JSON values: what a `SentCall` shows."""
    session = bot.session
    params: dict[str, Any] = {}
    for name in type(method).model_fields:
        value = session.prepare_value(getattr(method, name), bot=bot, files={},
                                      _dumps_json=False)
        if value is None or value in ({}, [], ""):
            continue
        params[name] = json.loads(json.dumps(value, default=_plain))
    return params


def returns_list(method: TelegramMethod[Any]) -> bool:
    """Whether the method's result is a list (an unmodelled call then answers [])."""
    returning = method.__returning__
    return returning is list or typing.get_origin(returning) is list


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    return str(value)
