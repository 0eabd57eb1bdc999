"""A plain aiogram + httpx bot: the yardstick of bench_load's CPU per turn (``--plain``).

    python bench/plain_bot.py      # the same environment variables as ``python -m bot run``

What a developer writes in an afternoon, with nothing of fmbot: aiogram's dispatcher and
polling, one ``httpx.AsyncClient`` streaming Yandex's completion (each NDJSON line parsed with
``json.loads``, cumulative text), drafts paced per chat only (one a second) and a final
``sendMessage`` in private chats, one message edited every 3.6 s in groups, 429s waited out.
No database, no history (each question alone), no rendering of Markdown, no bot-wide budget.
Run on uvloop, as fmbot is. Not a product: bench_load measures its CPU the same way as
fmbot's, so fmbot's per-turn cost can be compared with the floor these two libraries set.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import Message

DRAFT_EVERY = 1.0
EDIT_EVERY = 3.6
draft_ids = itertools.count(1)


async def patiently(call: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    while True:
        try:
            return await call(*args, **kwargs)
        except TelegramRetryAfter as exc:
            await asyncio.sleep(exc.retry_after)


class PlainBot:
    def __init__(self) -> None:
        server = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
        self.bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=AiohttpSession(api=server))
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, read=None),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=1000),
        )
        self.url = os.environ["YANDEX_LLM_URL"].rstrip("/") + "/foundationModels/v1/completion"
        self.folder = os.environ["YANDEX_FOLDER_ID"]
        self.headers = {"Authorization": f"Api-Key {os.environ['YANDEX_API_KEY']}"}
        self.username = ""
        # The folder's quota of concurrent generations, respected as any bot must.
        limit = int(os.environ.get("YANDEX_MAX_CONCURRENT_GENERATIONS", "10"))
        self.generations = asyncio.Semaphore(limit)

    async def stream(self, question: str) -> Any:
        """Cumulative texts of the answer, as the model streams them."""
        body = {
            "modelUri": f"gpt://{self.folder}/yandexgpt/latest",
            "completionOptions": {"stream": True, "temperature": 0.3, "maxTokens": "2000"},
            "messages": [{"role": "user", "text": question}],
        }
        async with (
            self.generations,
            self.http.stream("POST", self.url, json=body, headers=self.headers) as r,
        ):
            r.raise_for_status()
            async for line in r.aiter_lines():
                if line.strip():
                    result = json.loads(line)["result"]
                    yield result["alternatives"][0]["message"]["text"]

    async def answer_private(self, message: Message) -> None:
        chat, draft_id = message.chat.id, next(draft_ids)
        text, shown, last = "", "", 0.0
        async for text in self.stream(message.text or ""):
            if text != shown and time.monotonic() - last >= DRAFT_EVERY:
                shown, last = text, time.monotonic()
                await patiently(self.bot.send_message_draft, chat, draft_id, text=shown)
        await patiently(self.bot.send_message, chat, text)

    async def answer_group(self, message: Message) -> None:
        chat, sent, last, text, shown = message.chat.id, None, 0.0, "", ""
        async for text in self.stream(message.text or ""):
            if text == shown or time.monotonic() - last < EDIT_EVERY:
                continue
            shown, last = text, time.monotonic()
            if sent is None:
                sent = await patiently(self.bot.send_message, chat, shown)
            else:
                await patiently(
                    self.bot.edit_message_text, shown, chat_id=chat, message_id=sent.message_id
                )
        if sent is None:
            await patiently(self.bot.send_message, chat, text)
        elif text != shown:
            await patiently(
                self.bot.edit_message_text, text, chat_id=chat, message_id=sent.message_id
            )

    async def run(self) -> None:
        me = await self.bot.get_me()
        self.username = me.username or ""
        dp = Dispatcher()

        @dp.message(F.text)
        async def on_text(message: Message) -> None:
            if message.chat.type == "private":
                await self.answer_private(message)
            elif f"@{self.username}" in (message.text or ""):
                await self.answer_group(message)

        await self.bot.delete_webhook()
        await dp.start_polling(self.bot, handle_signals=True)


def main() -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(PlainBot().run())
    else:
        uvloop.run(PlainBot().run())


if __name__ == "__main__":
    main()
