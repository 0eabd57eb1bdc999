"""aiogram's session, with each uploaded file's media type named in its multipart part.

aiogram sends every file as `application/octet-stream`. Telegram reads the bytes, but a voice
message's part is better named `audio/ogg` (what the Bot API documents sendVoice's file as:
https://core.telegram.org/bots/api#sendvoice) and a photo's `image/jpeg`, so that Telegram and
proxies in between never have to guess. The type comes from the file's name.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.types import InputFile
from aiohttp import FormData

OCTET_STREAM = "application/octet-stream"


def media_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or OCTET_STREAM


class TypedUploadsSession(AiohttpSession):
    def build_form_data(self, bot: Bot, method: TelegramMethod[Any]) -> FormData:
        # As AiohttpSession.build_form_data, with the file parts' content type.
        form = FormData(quote_fields=False)
        files: dict[str, InputFile] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if prepared:
                form.add_field(key, prepared)
        for key, upload in files.items():
            name = upload.filename or key
            form.add_field(key, upload.read(bot), filename=name, content_type=media_type(name))
        return form
