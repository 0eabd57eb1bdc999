"""A delivery whose caller left (a job relinquished, /stop) still runs, and its failure is
nobody's to read: it must not reach asyncio's handler as "Future exception was never
retrieved", an ERROR an operator would chase (bot/telegram/outbox/jobs.py `awaited`)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from aiogram.methods import DeleteMessage

from bot.telegram.outbox import Outbox
from bot.testing.telegram.session import FakeTelegram

pytestmark = pytest.mark.looptime  # the chat's pacing on a virtual clock


async def test_a_call_whose_caller_left_fails_without_an_unread_error() -> None:
    telegram = FakeTelegram()
    bot = telegram.make_bot()
    outbox = Outbox(bot)
    unread: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unread.append(context))
    try:
        # No such chat: Telegram answers 400, and each call fails. The chat's pacing holds
        # the last call back, so its caller leaves while it waits on the lane.
        calls = [asyncio.create_task(outbox.call(5, DeleteMessage(chat_id=5, message_id=n)))
                 for n in range(1, 6)]
        await asyncio.sleep(0)  # queued on the chat's lane
        left = calls.pop()
        left.cancel()
        await asyncio.gather(*calls, left, return_exceptions=True)
        await outbox.drain()  # the last call is made all the same
        assert len([c for c in telegram.sent if c.method == "deleteMessage"]) == 5
        await outbox.aclose()
        del calls, left, outbox
        gc.collect()  # an unread failure is reported when its future is collected
        assert unread == []
    finally:
        loop.set_exception_handler(before)
        await bot.session.close()
