"""ALLOWED_CHAT_MEMBERS_OF's cache: getChatMember against the fake Bot API, a shifted clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from bot.telegram.membership import MembershipCache
from tests.fakes.telegram.server import TelegramServer
from tests.testing.telegram.botapi import FAKE_TOKEN, make_bot

COMPANY = -100777


@pytest.fixture
async def tg() -> AsyncIterator[TelegramServer]:
    async with TelegramServer(FAKE_TOKEN) as fake:
        fake.add_chat(COMPANY, "supergroup", title="Company")
        yield fake


@pytest.fixture
async def bot(tg: TelegramServer) -> AsyncIterator[Bot]:
    bot = make_bot(tg.url)
    yield bot
    await bot.session.close()


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("status", "member"),
    [("creator", True), ("administrator", True), ("member", True), ("restricted", True),
     ("left", False), ("kicked", False)],
)
async def test_statuses(tg: TelegramServer, bot: Bot, status: str, member: bool) -> None:
    tg.add_member(COMPANY, 5, status)
    assert await MembershipCache(COMPANY).is_member(bot, 5) is member


async def test_cached_for_minutes_then_checked_again(tg: TelegramServer, bot: Bot) -> None:
    clock = Clock()
    cache = MembershipCache(COMPANY, ttl=300, clock=clock)
    tg.add_member(COMPANY, 7)
    assert await cache.is_member(bot, 7)
    tg.add_member(COMPANY, 7, "left")  # they leave the company chat
    clock.now += 299
    assert await cache.is_member(bot, 7), "cached"
    assert len(tg.calls_for(COMPANY, "getChatMember")) == 1
    clock.now += 2
    assert not await cache.is_member(bot, 7), "checked again after the ttl"


async def test_an_outage_uses_the_last_answer_then_refuses(tg: TelegramServer, bot: Bot) -> None:
    clock = Clock()
    cache = MembershipCache(COMPANY, ttl=10, stale=100, clock=clock)
    tg.add_member(COMPANY, 8)
    assert await cache.is_member(bot, 8)
    clock.now += 50
    tg.fail_next("getChatMember", 502, times=5)
    assert await cache.is_member(bot, 8), "Telegram down: the last answer still holds"
    clock.now += 100
    assert not await cache.is_member(bot, 8), "too old to trust: refused"
    tg.fail_next("getChatMember", 502, times=5)
    assert not await cache.is_member(bot, 9), "never seen and Telegram down: refused"
