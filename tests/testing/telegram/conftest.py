"""Fixtures for the fake Telegram's own tests: ``tg`` (the fake served on loopback HTTP) with
``bot`` (a real aiogram Bot with aiogram's own HTTP session pointed at it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from bot.testing.telegram.server import TelegramServer
from tests.testing.telegram.botapi import FAKE_TOKEN, make_bot


@pytest.fixture
async def tg() -> AsyncIterator[TelegramServer]:
    async with TelegramServer(FAKE_TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(tg: TelegramServer) -> AsyncIterator[Bot]:
    bot = make_bot(tg.url)
    yield bot
    await bot.session.close()
