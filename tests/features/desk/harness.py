"""The support desk in-process: the real TelegramApp (Dispatcher, middlewares, handlers, Outbox)
polling the test kit's Bot API in memory (`FakeTelegram`, the same state and handlers the
loopback server answers with), with Telegram's time shrunk ``SCALE`` times on both sides (the
Outbox's pacing and the fake's flood limits), the real Foundation Models client on the fake
Yandex service's in-process transport, and a migrated database.

No socket is open between the bot and its fakes, so the world runs on the test kit's virtual
clock (bot/testing/clock.py): the pacing, the flood windows, the desk's timers and the
operations' polls take no wall time. On PostgreSQL or Redis the clock moves at the real pace
while their connections are open (it cannot know when a server answers), as before."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from aiogram import Bot

from bot.conversation import ConversationService, TurnOptions
from bot.extending.events import HandoffEvent
from bot.features.desk.build import desk_on_telegram
from bot.features.desk.domain import DeskService, SupportHours
from bot.features.desk.insights import InsightJobs
from bot.features.documents.telegram import documents_on_telegram
from bot.features.images.feature import FEATURE as images_feature
from bot.features.images.service import ImageService
from bot.features.images.telegram import images_on_telegram
from bot.features.installed import load_texts
from bot.features.settings import load_settings
from bot.features.tools.feature import call_lines_of
from bot.features.vision.photos import photos_on_telegram
from bot.features.voice.build import voice_on_telegram

if TYPE_CHECKING:
    from bot.features.desk.insights.faq import FaqDrafts
from bot.features.desk.telegram import DeskOptions, SupportDesk
from bot.foundation_models.base import client_over
from bot.foundation_models.client import FoundationModelsClient
from bot.plugin.lifespan import declared
from bot.storage.database import Database
from bot.telegram.app import TelegramApp
from bot.telegram.deps import BotOptions
from bot.telegram.outbox import Outbox, Pacing
from bot.testing.clock import VirtualClock
from bot.testing.telegram.flood import FloodLimits, loop_clock
from bot.testing.telegram.session import FakeTelegram
from bot.testing.telegram.state import ChatMessage
from bot.testing.telegram.users import FakeBotApi
from bot.testing.yandex.service import FoundationModelsService
from bot.wiring.telegram import build_telegram
from tests.conversation.conftest import API_KEY, FAST_POLL, FOLDER, fake_client
from tests.telegram.harness import front_values

T = TypeVar("T")
SCALE = 0.04  # 1 s per private chat -> 40 ms; 20 messages a minute per group -> per 2.4 s
SUPPORT = -1009876543210
OPERATOR = {"id": 501, "first_name": "Olga"}
TOKEN = "42:TEST"
# The fake Yandex service answers in process; no request leaves it for this host.
MODEL_URL = "http://yandex.fake"
# The menu entry (/image) the images feature registers when it is set up, as `run` reads it.
IMAGES_MENU = declared([images_feature], load_settings(None)).menu


@dataclass
class DeskWorld:
    tg: FakeBotApi
    fm: FoundationModelsService
    app: TelegramApp
    desk: SupportDesk
    db: Database
    client: FoundationModelsClient
    """The bot's own client of the fake Yandex service."""

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
        )
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
    forum: bool | None = True,
    admins: tuple[int, ...] = (),
    insights: str | None = None,
    servers: tuple[FakeBotApi, FoundationModelsService] | None = None,
    kb: Path | None = None,
    **app_kwargs: Any,
) -> AsyncIterator[DeskWorld]:
    """`insights`: DESK_INSIGHTS on with this INSIGHTS_MODEL (issue 26). `servers`: the fakes
    of an earlier world (a restart against the same Telegram and Yandex)."""
    async with contextlib.AsyncExitStack() as stack:
        tg, fm = servers if servers is not None else await stack.enter_async_context(fakes())
        async with _world(database, tg, fm, hours=hours, feedback=feedback, csat=csat,
                          classifier=classifier, forum=forum, admins=admins, insights=insights,
                          kb=kb, **app_kwargs) as world:
            yield world


@asynccontextmanager
async def fakes() -> AsyncIterator[tuple[FakeBotApi, FoundationModelsService]]:
    """The fake Bot API (time shrunk, its flood windows on the loop's clock) and the fake
    Yandex service, for one or more worlds, on the virtual clock while they last."""
    tg = FakeBotApi(TOKEN, "fm_test_bot")
    tg.flood.limits = FloodLimits(
        private_rate=1 / SCALE, group_window=60 * SCALE, global_rate=30 / SCALE,
        global_window=SCALE,
    )
    tg.flood.clock = loop_clock
    fm = FoundationModelsService(api_key=API_KEY, folder_id=FOLDER)
    clock = VirtualClock.of()
    try:
        with clock.running() if clock is not None else contextlib.nullcontext():
            yield tg, fm
    finally:
        await tg.updates.close()  # a long poll a world left open


@asynccontextmanager
async def _world(
    database: Database,
    tg: FakeBotApi,
    fm: FoundationModelsService,
    *,
    hours: SupportHours | None,
    feedback: bool,
    csat: bool,
    classifier: bool,
    forum: bool | None,
    admins: tuple[int, ...],
    insights: str | None,
    kb: Path | None,
    parts: Callable[[Bot, httpx.AsyncClient], dict[str, Any]] | None = None,
    on_handoff: Callable[[HandoffEvent], None] | None = None,
    idle: dt.timedelta = dt.timedelta(hours=24),
    **app_kwargs: Any,
) -> AsyncIterator[DeskWorld]:
    """`parts`: more parts of the app, built from the bot and the HTTP client that reaches the
    fake Yandex service (at `MODEL_URL`);
    `on_handoff`: told of each handoff (the App's hooks)."""
    load_texts()  # as the composition root does (bot/wiring/core.py), this world by hand
    if SUPPORT in tg.chats or forum is None:
        pass  # a restart: the support chat is there already (None: it never existed)
    elif forum:
        tg.add_forum(SUPPORT)
    else:  # a plain supergroup (no Topics) where the bot is an admin with every right
        tg.add_chat(SUPPORT, "supergroup", title="Support")
        tg.set_member(SUPPORT, int(TOKEN.split(":")[0]), "administrator",
                      can_manage_topics=True)
    if forum is not None and OPERATOR["id"] not in tg.members.get(SUPPORT, {}):
        tg.add_member(SUPPORT, OPERATOR["id"])
    for admin in admins:
        tg.add_chat(admin, "private", user={"id": admin, "first_name": "Admin"})
    fm.default_interval = 0.002
    http = client_over(fm.transport())
    client = fake_client(MODEL_URL, http=http)
    bot = FakeTelegram(tg).make_bot()
    options = BotOptions(text_models=("yandexgpt-lite",), default_system_prompt="Help.")
    conversation = ConversationService(
        sessionmaker=database.sessionmaker, model=client, options=TurnOptions(
            default_model="yandexgpt-lite", default_system_prompt="Help.",
            reply_reserve=2000, max_reply_tokens=500, temperature=0.3,
        ),
    )
    images = ImageService(
        sessionmaker=database.sessionmaker, model=client, image_model="yandex-art/latest",
        policy=FAST_POLL,
    )
    outbox = Outbox(
        bot,
        Pacing(
            private_interval=1.05 * SCALE, group_interval=3.4 * SCALE, global_rate=25 / SCALE,
            global_window=SCALE, group_window=60 * SCALE, retry_after_scale=SCALE,
        ),
    )
    jobs = None if insights is None else InsightJobs(
        database.sessionmaker, client, model_name=insights, policy=FAST_POLL,
        retry_base=0.05, poll_rate=100.0, submit_rate=100.0, sweep_every=0.1,
    )
    faq = None
    if jobs is not None and kb is not None:
        faq = await _faq(database, client, jobs, kb)
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
            idle=idle,
        ),
        model=client,
        classify=client.classify_few_shot if classifier else None,
        insights=jobs,
        faq=faq,
        on_handoff=on_handoff,
        call_lines=call_lines_of(database.sessionmaker),  # the tool loop's, as `run` gives it
        menu_extra=IMAGES_MENU,  # the features' menu, which /operator joins, as `run` gives it
    )
    given = {"support_chat_id": desk.chat_id, **({"admins": list(admins)} if admins else {}),
             **app_kwargs}
    access, options = front_values(given, options, shutdown_grace=2.0)
    extra = parts(bot, http) if parts is not None else {}
    heard = extra.pop("voice_input", None)
    app = build_telegram(
        bot=bot, sessionmaker=database.sessionmaker, conversation=conversation,
        features=[lambda front: desk_on_telegram(front, desk),
                  lambda front: photos_on_telegram(front, None),
                  lambda front: voice_on_telegram(front, None, heard),
                  lambda front: images_on_telegram(front, images),
                  lambda front: documents_on_telegram(front, None)],
        options=options, access=access, outbox=outbox, menu=IMAGES_MENU, **extra, **given,
    )
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
    world = DeskWorld(tg, fm, app, desk, database, client)
    try:
        yield world
    finally:
        try:
            await app.dp.stop_polling()
        except RuntimeError:  # a quick test: polling had not started (getMe under way)
            polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
        await app.shutdown()
        await bot.session.close()
        await client.aclose()
        await http.aclose()


async def _faq(
    database: Database, client: FoundationModelsClient, jobs: InsightJobs, folder: Path
) -> FaqDrafts:
    """FAQ drafts deduplicated against a knowledge base on `folder` (synced here)."""
    from bot.features.desk.insights.faq import FaqDrafts
    from bot.features.knowledge.base import KnowledgeBase
    from bot.features.knowledge.types import KbMode
    from bot.foundation_models.embedder import Embedder

    embedder = Embedder(client, doc_model="text-search-doc/latest",
                        query_model="text-search-query/latest", rps=1000.0, backoff=0.01)
    knowledge = KnowledgeBase(sessionmaker=database.sessionmaker, embedder=embedder,
                              roots=[folder], mode=KbMode.ASSIST)
    await knowledge.sync()

    async def similar(text: str) -> float:
        return (await knowledge.search(text, 1, kind="draft")).best_score

    async def embed(text: str) -> Any:
        return (await embedder.query(text)).values

    return FaqDrafts(jobs, database.sessionmaker, similar=similar, embed=embed, threshold=0.8,
                     kb_file=folder / "faq-from-desk.jsonl")
