"""Fixtures for the fake Telegram's own tests: ``tg`` (the fake served on loopback HTTP) with
``bot``, a real aiogram Bot that reaches it both ways the kit serves it: aiogram's own HTTP
session pointed at its URL, and the in-process session answering with the same state. Each
test taking ``bot`` runs once per way: one implementation, two transports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from bot.testing.telegram.session import FakeTelegram
from tests.fakes.telegram.server import TelegramServer
from tests.testing.telegram.botapi import FAKE_TOKEN, make_bot


@pytest.fixture
async def tg() -> AsyncIterator[TelegramServer]:
    async with TelegramServer(FAKE_TOKEN) as fake:
        yield fake


@pytest.fixture(params=["http", "in-process"])
async def bot(tg: TelegramServer, request: pytest.FixtureRequest) -> AsyncIterator[Bot]:
    bot = make_bot(tg.url) if request.param == "http" else FakeTelegram(tg).make_bot()
    yield bot
    await bot.session.close()
