"""The shared core both front ends (Telegram, the terminal chat) run on: the database, the
model clients, the conversation service; the features on it are built by their own build
modules, which the list in bot/features/build.py calls (this module names none)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from bot.conversation import ConversationService, TurnOptions
from bot.features.build import CoreFeatures, before_start, core_features
from bot.features.models import load_models
from bot.features.settings import Settings
from bot.foundation_models.auth import Auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatModel
from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.storage.outage import Outage, watch_outages
from bot.wiring.clients import (
    build_auth_from,
    build_chat_model,
    build_client,
)
from bot.wiring.groundwork import FrontEnd, Groundwork

if TYPE_CHECKING:
    from bot.app.parts import AppParts
    from bot.extending.tools import ToolSource

log = logging.getLogger("bot")

__all__ = ["Core", "FrontEnd", "core"]


@dataclass(frozen=True, slots=True)
class Core:
    """What both front ends (Telegram, terminal) share. `features`: the features built on it
    (the knowledge base, the tool loop, the App's hooks, ...: bot/features/build.py)."""

    db: Database
    client: FoundationModelsClient
    chat_model: ChatModel
    conversation: ConversationService
    features: CoreFeatures
    auth: Auth  # photos and voice notes: SpeechKit's credentials
    http: httpx.AsyncClient | None = None  # the models' HTTP client when given (bot.testing)

    def ground(self, settings: Settings, stack: AsyncExitStack,
               front: FrontEnd | None = None) -> Groundwork:
        """What a feature builds on, its resources closed with `stack`."""
        return Groundwork(settings, self.db, self.client, self.chat_model, self.auth, stack,
                          self.http, front or FrontEnd())


@asynccontextmanager
async def core(
    settings: Settings,
    system_prompt: str,
    *,
    kb_background: bool = False,
    app: AppParts | None = None,
    http: httpx.AsyncClient | None = None,
    front: FrontEnd | None = None,
    wrap_tools: Callable[[ToolSource], ToolSource] | None = None,
) -> AsyncIterator[Core]:
    """Migrate the database (refusing a newer schema), then build the shared services;
    `kb_background` syncs the knowledge base at start and every KB_SYNC_INTERVAL. `app`'s
    tools, context providers and hooks join every turn. `http`: the HTTP client every model
    client uses instead of its own (bot.testing answers Yandex's API in process); `front`:
    the Telegram front end's parts (None: the terminal chat, the reports); `wrap_tools`:
    each tool source replaced by what it returns (`fmbot eval`'s stubs)."""
    front = front or FrontEnd()
    # A bad TOOLS_FILE stops here, before anything starts; the App's own tools join it.
    before = before_start(settings, app, wrap_tools)
    await migrate(settings.database_url, extra=app.migration_folders() if app is not None else ())
    async with AsyncExitStack() as stack:
        await before.start(stack)
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
        ground = Groundwork(settings, db, client, chat_model, auth, stack, http, front,
                            kb_background)
        features = await core_features(ground, before, app)
        options = TurnOptions(
            default_model=settings.text_model,
            default_system_prompt=system_prompt,
            reply_reserve=settings.max_reply_tokens,
            max_reply_tokens=settings.max_reply_tokens,
            temperature=settings.temperature,
            context_overrides=settings.model_context_sizes,
            # Without a desk a "not found" answer names the deployment's next step;
            # with one, its "Ask a person" button is the next step.
            not_found_next_step=("" if settings.desk.on
                                 else settings.knowledge.not_found_contact),
            track_delivery=front.track_delivery,
        )
        conversation = ConversationService(
            sessionmaker=db.sessionmaker, model=chat_model, options=options,
            features=list(features.turn), pauses=features.tools,
            image_tokens=features.image_tokens,
        )
        yield Core(db, client, chat_model, conversation, features, auth, http)
