"""The shared core both front ends (Telegram, the terminal chat) run on: the database, the
model clients, the conversation service, images, knowledge and tools."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from bot.config import Settings
from bot.conversation import ConversationService
from bot.conversation.listeners import Listeners
from bot.features import turn_features
from bot.features.asker import Asker
from bot.features.desk.domain import DeskService
from bot.features.documents.chat import ChatDocuments
from bot.features.extensions.build import build_runner
from bot.features.images.service import ImageService
from bot.features.models import load_models
from bot.features.tools import Toolbox
from bot.features.vision.images import ImageSource
from bot.foundation_models.auth import Auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.limits import GenerationLimit
from bot.foundation_models.types import ChatModel, PollPolicy
from bot.storage.database import Database, migrate
from bot.storage.outage import Outage, watch_outages
from bot.wiring.clients import (
    build_auth_from,
    build_chat_model,
    build_client,
)

if TYPE_CHECKING:

    from bot.app.parts import AppParts
    from bot.features.extensions import ExtensionRunner
    from bot.features.knowledge.base import KnowledgeBase
    from bot.features.tools.loop import ToolLoop

from bot.wiring.parts import (
    build_knowledge,
    build_tool_loop,
    build_toolbox,
    build_vision,
    start_toolbox_of,
)

log = logging.getLogger("bot")


@dataclass(frozen=True, slots=True)
class Core:
    """What both front ends (Telegram, terminal) share."""

    db: Database
    client: FoundationModelsClient
    chat_model: ChatModel
    conversation: ConversationService
    images: ImageService
    knowledge: KnowledgeBase | None = None
    toolbox: Toolbox | None = None
    auth: Auth | None = None  # photos and voice notes: SpeechKit's credentials
    http: httpx.AsyncClient | None = None  # the models' HTTP client when given (bot.testing)
    desk: DeskService | None = None  # the support desk's records (SUPPORT_CHAT_ID, Telegram)
    tools: ToolLoop | None = None  # the tool loop: cards, presses, limits, expiry
    extras: ExtensionRunner | None = None  # the App's context providers, hooks and routers
    documents: ChatDocuments | None = None  # documents sent in chat (Telegram)


@dataclass(frozen=True, slots=True)
class FrontEnd:
    """What the Telegram front end gives the core, built before it (the terminal chat gives
    none of it): earlier photos fetched again from Telegram, documents sent in chat kept,
    the tool cards a new message took the buttons off, and with several replicas, answers
    tracked until delivered and one generation cap shared by all."""

    telegram: bool = False  # the support desk and documents in chat need Telegram
    fetch_image: ImageSource | None = None
    superseded: Listeners[[int, list[int]]] | None = None
    track_delivery: bool = False
    generation_limit: GenerationLimit | None = None
    shared: bool = False  # several replicas (REDIS_URL)


@asynccontextmanager
async def core(
    settings: Settings,
    system_prompt: str,
    *,
    kb_background: bool = False,
    app: AppParts | None = None,
    http: httpx.AsyncClient | None = None,
    front: FrontEnd | None = None,
) -> AsyncIterator[Core]:
    """Migrate the database (refusing a newer schema), then build the shared services;
    `kb_background` syncs the knowledge base at start and every KB_SYNC_INTERVAL. `app`'s
    tools, context providers and hooks join every turn. `http`: the HTTP client every model
    client uses instead of its own (bot.testing answers Yandex's API in process); `front`:
    the Telegram front end's parts (None: the terminal chat, the reports)."""
    front = front or FrontEnd()
    # A bad TOOLS_FILE stops here, before anything starts; the App's own tools join it.
    toolbox = build_toolbox(settings, app.tool_sources if app is not None else ())
    await migrate(settings.database_url, extra=app.migration_folders() if app is not None else ())
    async with AsyncExitStack() as stack:
        stack.push_async_callback(toolbox.close)
        await start_toolbox_of(toolbox)
        load_models()  # every feature's tables, erased with the rest on /forget
        db = Database(settings.database_url)
        stack.push_async_callback(db.dispose)
        watch_outages(db.sessionmaker, Outage(grace=settings.database_outage_grace))
        auth = build_auth_from(settings)
        client = build_client(settings, auth, http, front.generation_limit)
        stack.push_async_callback(client.aclose)
        chat_model = build_chat_model(
            settings, client, auth, stack, http, generation_limit=front.generation_limit
        )
        extras = build_runner(app, settings.extension_timeout)
        if extras is not None:
            stack.push_async_callback(extras.aclose)  # hooks still running get a grace period
        knowledge = build_knowledge(settings, db, client)
        if knowledge is not None:
            await knowledge.load()
            if kb_background:
                from bot.features.knowledge.background import BackgroundSync

                syncer = BackgroundSync(knowledge, interval=settings.kb_sync_interval)
                syncer.start()
                stack.push_async_callback(syncer.stop)
        desk = None
        if settings.support_chat_id and front.telegram:
            desk = DeskService(
                db.sessionmaker, support_chat_id=settings.support_chat_id, shared=front.shared
            )
        from bot.wiring.agent_tools import build_hosted, start_store_sync

        hosted = build_hosted(settings, db)  # web and file search, if offered
        # Without TOOLS_FILE (or the App's tools) the toolbox is empty: no tools, every
        # turn as before. Tools see the state of the user's support conversation.
        desk_state = desk_state_of(desk) if desk is not None else None
        tools = build_tool_loop(
            settings, db, chat_model, toolbox, desk_state=desk_state,
            on_superseded=front.superseded,
        )
        vision = build_vision(settings, chat_model, auth, stack, http, front.fetch_image)
        documents = ChatDocuments(db.sessionmaker) if front.telegram else None
        conversation = ConversationService(
            sessionmaker=db.sessionmaker,
            model=chat_model,
            default_model=settings.text_model,
            default_system_prompt=system_prompt,
            reply_reserve=settings.max_reply_tokens,
            max_reply_tokens=settings.max_reply_tokens,
            temperature=settings.temperature,
            context_overrides=settings.model_context_sizes,
            features=turn_features(
                extras=extras, documents=documents, knowledge=knowledge, vision=vision,
                hosted=hosted, tools=tools,
                asker=Asker(frozenset(settings.admin_user_ids), desk_state),
                business=front.telegram and settings.business_replies != "off",
            ),
            pauses=tools,
            image_tokens=vision.image_tokens if vision is not None else None,
            # Without a desk a "not found" answer names the deployment's next step;
            # with one, its "Ask a person" button is the next step.
            not_found_next_step="" if settings.support_chat_id else settings.kb_not_found_contact,
            track_delivery=front.track_delivery,
        )
        if kb_background and hosted is not None and hosted.store_id is not None:
            await start_store_sync(settings, db, auth, stack)  # KB_BACKEND=yandex
        images = ImageService(
            sessionmaker=db.sessionmaker,
            model=client,
            image_model=settings.image_model,
            policy=PollPolicy(),
        )
        yield Core(
            db, client, chat_model, conversation, images, knowledge, toolbox, auth, http, desk,
            tools, extras, documents,
        )


def desk_state_of(service: DeskService) -> Callable[[int], Awaitable[str | None]]:
    """ToolContext.desk_state: the state of the user's newest support conversation."""

    async def desk_state(user_id: int) -> str | None:
        case = await service.cases.latest_case(user_id)
        return None if case is None else case.status.value

    return desk_state
