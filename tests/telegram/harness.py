"""The Telegram application under test: the real Dispatcher, middlewares and handlers, the real
ConversationService and ImageService on a migrated SQLite file, the real Foundation Models
client against the fake server (in-process, real HTTP), and the kit's fake Telegram
(`FakeTelegram`, Telegram's limits scaled down) as the bot's session. Updates are real
`Update` objects fed with `app.process` (the durable intake, then `dp.feed_update`), as
polling and the webhook do; each is taken into the fake first (`record`), as Telegram has
it: the chat exists, the user's message is in it, a press can be answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import (
    CallbackQuery,
    Chat,
    Message,
    MessageEntity,
    MessageGenerationStopped,
    Update,
    User,
)

from bot.conversation import ConversationService, TurnOptions
from bot.conversation.listeners import Listeners
from bot.coordination import Coordinator
from bot.features.documents.telegram import documents_on_telegram
from bot.features.extensions import ExtensionRunner
from bot.features.images.delivery import ImageDelivery
from bot.features.images.feature import FEATURE as images_feature
from bot.features.images.service import ImageService
from bot.features.images.telegram import images_on_telegram
from bot.features.installed import load_texts
from bot.features.knowledge.telegram import knowledge_on_telegram
from bot.features.settings import load_settings
from bot.features.tools.loop import ToolLoop
from bot.features.tools.telegram import tools_on_telegram
from bot.features.vision.photos import photos_on_telegram
from bot.features.voice.build import voice_on_telegram
from bot.plugin.lifespan import declared
from bot.storage.database import Database
from bot.telegram.access import Access
from bot.telegram.app import TelegramApp
from bot.telegram.deps import BotOptions, Cluster
from bot.telegram.outbox import Outbox, Pacing
from bot.testing.telegram.flood import FloodLimits
from bot.testing.telegram.session import FakeTelegram
from bot.wiring.telegram import build_telegram
from tests.conversation.conftest import API_KEY, FAST_POLL, FOLDER, fake_client
from tests.fakes.yandex.server import FakeFoundationModels
from tests.turn_features import turn_features

BOT_ID = 42
BOT_USERNAME = "test_bot"
SCALE = 0.05  # Telegram's pacing (1 s private, 3 s groups) shrunk 20 times
# The menu entry (/image) the images feature registers when it is set up, as `run` reads it.
IMAGES_MENU = declared([images_feature], load_settings(None)).menu


@dataclass
class Person:
    id: int
    first_name: str
    language_code: str | None = "en"
    is_bot: bool = False

    def user(self) -> User:
        return User(
            id=self.id,
            is_bot=self.is_bot,
            first_name=self.first_name,
            language_code=self.language_code,
        )


ANNA = Person(11, "Anna")
BORIS = Person(12, "Борис", "ru")
GROUP = Chat(id=-100500, type="supergroup", title="Team")


@dataclass
class Harness:
    app: TelegramApp
    bot: Bot
    telegram: FakeTelegram
    fm: FakeFoundationModels
    db: Database
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- updates -------------------------------------------------------------------------------

    def message(
        self,
        text: str | None,
        who: Person = ANNA,
        chat: Chat | None = None,
        *,
        reply_to: Message | None = None,
        **extra: Any,
    ) -> Message:
        chat = chat or Chat(id=who.id, type="private", first_name=who.first_name)
        entities = extra.pop("entities", None)
        if entities is None and text and text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities = [MessageEntity(type="bot_command", offset=0, length=len(command))]
        return Message(
            message_id=self.telegram.next_message_id(chat.id),
            date=int(time.time()),
            chat=chat,
            from_user=who.user(),
            text=text,
            entities=entities,
            reply_to_message=reply_to,
            **extra,
        )

    def update(self, **event: Any) -> Update:
        return Update(update_id=next(self._update_ids), **event)

    async def feed(self, update: Update) -> Any:
        self.telegram.record(update)
        return await self.app.process(update)

    async def send(
        self, text: str | None, who: Person = ANNA, chat: Chat | None = None, **extra: Any
    ) -> Update:
        update = self.update(message=self.message(text, who, chat, **extra))
        await self.feed(update)
        return update

    async def press(self, data: str, who: Person = ANNA, on: Message | None = None) -> None:
        message = on or self.message("buttons", who)
        query = CallbackQuery(
            id=str(next(self._update_ids)),
            from_user=who.user(),
            chat_instance="ci",
            data=data,
            message=message,
        )
        await self.feed(self.update(callback_query=query))

    async def stop_button(self, chat_id: int, draft_id: int) -> None:
        event = MessageGenerationStopped(chat=Chat(id=chat_id, type="private"), draft_id=draft_id)
        await self.feed(self.update(stopped_message_generation=event))

    # -- waiting and looking ---------------------------------------------------------------------

    @property
    def images(self) -> ImageDelivery:
        """The /image jobs' delivery, among the app's services."""
        return next(s for s in self.app.services if isinstance(s, ImageDelivery))

    async def settle(self, within: float = 15.0) -> None:
        """Until every queued answer and image job has been delivered."""
        async with asyncio.timeout(within):
            await self.app.wait_idle()

    async def wait_until(self, predicate: Callable[[], object], within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while not predicate():  # noqa: ASYNC110 - polling what a fake records
                await asyncio.sleep(0.01)

    def texts(self, chat_id: int) -> list[str]:
        """What the chat shows now: the bot's text messages, oldest first."""
        return [m.text for m in self.telegram.chat(chat_id).bot_messages if m.text is not None]

    def calls(self, method: type[TelegramMethod[Any]]) -> list[Any]:
        """The bot's calls of that method, as aiogram method objects."""
        return self.telegram.calls(method)

    def completions(self) -> list[Any]:
        """JSON bodies of the text generation requests the model server received."""
        return [r.json for r in self.fm.requests if r.path.endswith("/completion")]

    def model_requests(self) -> list[str]:
        return [p for p in self.fm.paths() if "completion" in p or "imageGeneration" in p]


@asynccontextmanager
async def running_app(
    database: Database,
    *,
    options: BotOptions | None = None,
    extras: ExtensionRunner | None = None,
    tools: Callable[[FakeFoundationModels, Listeners[[int, list[int]]]], ToolLoop] | None = None,
    coordinator: Coordinator | None = None,
    owner: str = "",
    parts: Callable[[Bot, str], dict[str, Any]] | None = None,
    daily_images: int = 0,
    **app_kwargs: Any,
) -> AsyncIterator[Harness]:
    """`tools`: the tool loop, built on the fake model server and told where superseded
    cards go (as the wiring does); `coordinator`: one of several replicas, named `owner`;
    `parts`: more parts of the app, built from the bot and the model server's URL;
    `daily_images`: /image's DAILY_IMAGE_LIMIT (0: none)."""
    load_texts()  # as the composition root does (bot/wiring/core.py), this app by hand
    async with FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as fm:
        fm.default_interval = 0.005
        client = fake_client(fm.url)
        telegram = FakeTelegram(token=f"{BOT_ID}:TEST", username=BOT_USERNAME)
        telegram.flood.limits = FloodLimits.scaled(SCALE)
        bot = telegram.make_bot()
        superseded: Listeners[[int, list[int]]] = Listeners()
        options = options or BotOptions(
            text_models=("yandexgpt-lite", "yandexgpt/latest"),
            default_system_prompt="You are a helpful assistant.",
        )
        loop = tools(fm, superseded) if tools is not None else None
        conversation = ConversationService(
            sessionmaker=database.sessionmaker,
            model=client,
            options=TurnOptions(
                default_model=options.default_model,
                default_system_prompt=options.default_system_prompt,
                reply_reserve=2000,
                max_reply_tokens=1500,
                temperature=0.3,
                track_delivery=coordinator is not None,
            ),
            features=turn_features(extras=extras, tools=loop),
        )
        images = ImageService(
            sessionmaker=database.sessionmaker,
            model=client,
            image_model="yandex-art/latest",
            policy=FAST_POLL,
        )
        outbox = Outbox(
            bot,
            Pacing(
                private_interval=1.05 * SCALE, group_interval=3.6 * SCALE, global_rate=30,
                group_window=60 * SCALE,
            ),
        )
        extra = parts(bot, fm.url) if parts is not None else {}
        heard = extra.pop("voice_input", None)
        # The features' menu, then a test's own (an App's), as the registry merges them.
        menu = {**IMAGES_MENU, **app_kwargs.pop("menu", {})}
        access, options = front_values(app_kwargs, options, shutdown_grace=2.0)
        app = build_telegram(
            bot=bot,
            sessionmaker=database.sessionmaker,
            conversation=conversation,
            options=options,
            access=access,
            outbox=outbox,
            # A test's own features first: their routers see updates before the defaults'.
            # (/voice, off, as the bot without VOICE_REPLIES has it; only early routers.)
            features=[lambda front: photos_on_telegram(front, None),
                      lambda front: voice_on_telegram(front, None, heard),
                      *extra.pop("features", ()),
                      lambda front: images_on_telegram(front, images, daily_limit=daily_images,
                                                       status_interval=0.05),
                      lambda front: tools_on_telegram(front, loop, superseded),
                      lambda front: knowledge_on_telegram(front, None),
                      lambda front: documents_on_telegram(front, None)],
            cluster=None if coordinator is None else Cluster(coordinator, owner),
            menu=menu,
            **extra,
            **app_kwargs,
        )
        harness = Harness(app, bot, telegram, fm, database)
        try:
            yield harness
        finally:
            await app.shutdown()
            await client.aclose()
            await telegram.aclose()  # a webhook's deliveries and their HTTP client


ACCESS_KEYS = {"allowed_users": "users", "allowed_chats": "chats", "admins": "admins",
               "members_of": "members_of", "support_chat_id": "support_chat_id"}
OPTION_KEYS = ("rate_limit_per_minute", "shutdown_grace", "shutdown_settle")


def front_values(
    kwargs: dict[str, Any], options: BotOptions, **defaults: Any
) -> tuple[Access, BotOptions]:
    """A test's access lists and front options, given as keywords (`allowed_users=`,
    `rate_limit_per_minute=`, ...), taken out of `kwargs` into what build_telegram takes."""
    access = Access(**{field: kwargs.pop(key) for key, field in ACCESS_KEYS.items()
                       if key in kwargs})
    chosen = {**defaults, **{key: kwargs.pop(key) for key in OPTION_KEYS if key in kwargs}}
    return access, dataclasses.replace(options, **chosen)
