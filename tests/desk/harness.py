"""The support desk in-process: the real TelegramApp (Dispatcher, middlewares, handlers, Outbox)
polling the fake Bot API over loopback HTTP, with Telegram's time shrunk ``SCALE`` times on both
sides (the Outbox's pacing and the fake's flood limits), the real Foundation Models client
against the fake Yandex server, and a migrated database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.conversation import ConversationService
from bot.desk import DeskService, SupportHours
from bot.images import ImageService
from bot.storage.database import Database
from bot.telegram.app import TelegramApp
from bot.telegram.deps import BotOptions
from bot.telegram.desk import DeskOptions, SupportDesk
from bot.telegram.outbox import Outbox
from tests.core.conftest import API_KEY, FAST_POLL, FOLDER, fake_client
from tests.fakes.foundation_models_server import FakeFoundationModels
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.tg_flood import FloodLimits
from tests.fakes.tg_state import ChatMessage

T = TypeVar("T")
SCALE = 0.04  # 1 s per private chat -> 40 ms; 20 messages a minute per group -> per 2.4 s
SUPPORT = -1009876543210
OPERATOR = {"id": 501, "first_name": "Olga"}
TOKEN = "42:TEST"


@dataclass
class DeskWorld:
    tg: FakeTelegram
    fm: FakeFoundationModels
    app: TelegramApp
    desk: SupportDesk
    db: Database

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:  # noqa: ASYNC109
        return await self.tg.wait_for(predicate, timeout)

    def texts(self, chat_id: int) -> list[str]:
        chat = self.tg.chats.get(chat_id)
        return [] if chat is None else [m.text or m.caption or "" for m in chat.bot_messages]

    def topic_of(self, user_id: int) -> int | None:
        for topic in self.tg.topics.get(SUPPORT, {}).values():
            if topic.name.endswith(f"· {user_id}") and not topic.deleted:
                return int(topic.thread_id)
        return None

    def in_topic(self, thread: int) -> list[ChatMessage]:
        """The bot's messages in the topic (the card first)."""
        return [m for m in self.tg.topic_messages(SUPPORT, thread) if m.from_bot]

    async def close_for_rating(self, user_id: int, thread: int) -> tuple[ChatMessage, str]:
        """An operator presses the card's first button (close): the user's rating request
        and the case id."""
        card = self.in_topic(thread)[0]
        data = card.reply_markup["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
        self.tg.send_callback_query(SUPPORT, card.message_id, data, user=OPERATOR)
        rate = await self.wait_for(
            lambda: [m for m in self.tg.chat(user_id).bot_messages
                     if "csat:" in str(m.reply_markup)]
        )  # fmt: skip
        return rate[0], str(data).split(":")[2]

    async def settle(self) -> None:
        async with asyncio.timeout(20):
            await self.app.queues.wait_idle()
            await self.desk.wait_idle()


@asynccontextmanager
async def desk_world(
    database: Database,
    *,
    hours: SupportHours | None = None,
    feedback: bool = False,
    csat: bool = True,
    classifier: bool = False,
    forum: bool = True,
    admins: tuple[int, ...] = (),
    **app_kwargs: Any,
) -> AsyncIterator[DeskWorld]:
    limits = FloodLimits(
        private_rate=1 / SCALE, group_window=60 * SCALE, global_rate=30 / SCALE,
        global_window=SCALE,
    )  # fmt: skip
    async with (
        FakeTelegram(TOKEN, limits=limits) as tg,
        FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as fm,
    ):
        if forum:
            tg.add_forum(SUPPORT)
        else:  # a plain supergroup (no Topics) where the bot is an admin with every right
            tg.add_chat(SUPPORT, "supergroup", title="Support")
            tg.set_member(SUPPORT, int(TOKEN.split(":")[0]), "administrator",
                          can_manage_topics=True)  # fmt: skip
        tg.add_member(SUPPORT, OPERATOR["id"])
        for admin in admins:
            tg.add_chat(admin, "private", user={"id": admin, "first_name": "Admin"})
        fm.default_interval = 0.002
        client = fake_client(fm.url)
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))
        options = BotOptions(text_models=("yandexgpt-lite",), default_system_prompt="Help.")
        conversation = ConversationService(
            sessionmaker=database.sessionmaker, model=client, default_model="yandexgpt-lite",
            default_system_prompt="Help.", reply_reserve=2000, max_reply_tokens=500,
            temperature=0.3,
        )  # fmt: skip
        images = ImageService(
            sessionmaker=database.sessionmaker, model=client, image_model="yandex-art/latest",
            policy=FAST_POLL,
        )  # fmt: skip
        outbox = Outbox(
            bot, private_interval=1.05 * SCALE, group_interval=3.4 * SCALE,
            global_rate=25 / SCALE, global_window=SCALE, group_window=60 * SCALE,
            retry_after_scale=SCALE,
        )  # fmt: skip
        desk = SupportDesk(
            DeskService(database.sessionmaker, support_chat_id=SUPPORT),
            outbox,
            DeskOptions(
                support_chat_id=SUPPORT,
                hours=hours or SupportHours.parse(""),
                csat=csat,
                feedback_buttons=feedback,
                summary_model="yandexgpt-lite",
                admins=admins,
            ),
            model=client,
            classify=client.classify_few_shot if classifier else None,
        )
        app = TelegramApp(
            bot=bot, sessionmaker=database.sessionmaker, conversation=conversation,
            images=images, options=options, outbox=outbox, desk=desk, shutdown_grace=2.0,
            **({"admins": list(admins)} if admins else {}), **app_kwargs,
        )  # fmt: skip
        await app.startup()
        polling = asyncio.create_task(
            app.dp.start_polling(
                bot,
                polling_timeout=1,
                handle_as_tasks=True,
                handle_signals=False,
                close_bot_session=False,
                allowed_updates=app.allowed_updates,
            )
        )
        world = DeskWorld(tg, fm, app, desk, database)
        try:
            yield world
        finally:
            await app.dp.stop_polling()
            await asyncio.gather(polling, return_exceptions=True)
            await app.shutdown()
            await bot.session.close()
            await client.aclose()
