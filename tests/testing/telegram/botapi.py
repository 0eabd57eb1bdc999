"""A real aiogram ``Bot`` pointed at the fake Bot API, for the fake's own tests."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

FAKE_TOKEN = "42:TEST"


def make_bot(url: str, token: str = FAKE_TOKEN) -> Bot:
    """aiogram's own HTTP session (form/multipart encoding, real response checks)."""
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
