"""The shared core both front ends (Telegram, the terminal chat) run on: the database, the
model clients, the conversation service; the features on it are built by their own `Feature`
objects, in the order of the bot's list (bot/features/installed.py, then the plugins'): this
module names none."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from bot.conversation import ConversationService, TurnOptions
from bot.conversation.types import Employee, SignedIn
from bot.features.installed import load_tables, load_texts
from bot.features.settings import Settings
from bot.foundation_models.auth import Auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatModel
from bot.plugin.built import Built
from bot.plugin.clients import (
    build_auth_from,
    build_chat_model,
    build_client,
    build_embedder,
)
from bot.plugin.feature import Feature
from bot.plugin.ground import FrontEnd, Groundwork, Preparing
from bot.plugin.lifespan import Lifespans
from bot.plugin.offers import EmployeeDirectory, ImageCost
from bot.plugin.registry import Registry
from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.storage.outage import Outage, watch_outages

if TYPE_CHECKING:
    from bot.app.parts import AppParts
    from bot.extending.tools import ToolSource

log = logging.getLogger("bot")

__all__ = ["Core", "FrontEnd", "core"]


@dataclass(frozen=True, slots=True)
class Core:
    """What both front ends (Telegram, terminal) share. `features`: the bot's features (its
    list and the plugins'); `built`: what they built on it, found by type (the knowledge base,
    the tool loop, ...); `ground`: what they built on; `registry`: what each declared,
    registered and built (routers, menu commands, providers, tools, hooks, its part in a turn,
    what the bot waits for before it is idle); `lifespans`: theirs, under way (the Telegram
    front reaches their last phase)."""

    db: Database
    client: FoundationModelsClient
    chat_model: ChatModel
    conversation: ConversationService
    features: tuple[Feature, ...]
    built: Built
    auth: Auth  # photos and voice notes: SpeechKit's credentials
    ground: Groundwork
    registry: Registry
    lifespans: Lifespans
    http: httpx.AsyncClient | None = None  # the models' HTTP client when given (bot.testing)


@asynccontextmanager
async def core(
    settings: Settings,
    system_prompt: str,
    *,
    background: bool = False,
    app: AppParts | None = None,
    http: httpx.AsyncClient | None = None,
    front: FrontEnd | None = None,
    wrap_tools: Callable[[ToolSource], ToolSource] | None = None,
    signed_in: SignedIn | None = None,
) -> AsyncIterator[Core]:
    """Migrate the database (refusing a newer schema), then build the shared services and the
    features on them; `background`: what the features keep up to date (the knowledge base)
    runs in the background, at start and periodically (`run`). Each feature (fmbot's, the
    App's own, its plugins') is set up once first: what it registers joins every turn.
    `http`: the HTTP client every model client uses instead of its own (bot.testing answers
    Yandex's API in process); `front`: the Telegram front end's parts (None: the terminal
    chat, the reports); `wrap_tools`: each tool source replaced by what it returns (`fmbot
    eval`'s stubs); `signed_in`: employees the test kit or `fmbot eval` signed in, found in
    the employee directory before the identity feature's."""
    front = front or FrontEnd()
    features = features_of(app)
    # Every feature's declaration (its routers, menu commands, tools, hooks...), read by the
    # one loop each part of the bot needs; then its phases, in the list's order.
    lifespans = Lifespans.declare(features, settings,
                                  adjust=app.adjustments() if app is not None else None)
    registry, built = lifespans.registry, lifespans.built
    try:
        # What is read before anything starts (a bad TOOLS_FILE stops here); the features'
        # Python tools join it.
        await lifespans.advance("prepare", Preparing(settings, built, registry, wrap_tools))
        await migrate(settings.database_url,
                      extra=app.migration_folders() if app is not None else ())
        async with AsyncExitStack() as stack:
            load_tables(features)  # every feature's tables, erased with the rest on /forget
            load_texts(features)  # their texts join the Translator's before any is said
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
                                background, registry)
            # One embedder for all that embeds (its pacer keeps the folder's quota): by type.
            built.add("core", build_embedder(settings, client))
            if signed_in is not None:  # found first: the identity feature's answers the rest
                built.add("core", signed_in_directory(signed_in, built))
            # What follows each lifespan's `yield` runs before the clients and the database
            # close (and after what the features put on the stack as they were built).
            stack.push_async_callback(lifespans.shutdown)
            await lifespans.advance("core", ground)
            options = TurnOptions(
                default_model=settings.text_model,
                default_system_prompt=system_prompt,
                reply_reserve=settings.max_reply_tokens,
                max_reply_tokens=settings.max_reply_tokens,
                temperature=settings.temperature,
                context_overrides=settings.model_context_sizes,
                track_delivery=front.track_delivery,
                wire=settings.text_api,
            )
            image_cost = built.find(ImageCost)
            conversation = ConversationService(
                sessionmaker=db.sessionmaker, model=chat_model, options=options,
                features=list(registry.turn),
                image_tokens=image_cost.tokens if image_cost is not None else None,
            )
            if not front.telegram:  # no Telegram front: its phase reached with none
                await lifespans.advance("telegram", None)
            yield Core(db, client, chat_model, conversation, features, built, auth, ground,
                       registry, lifespans, http)
    finally:
        # A start that failed before the stack was up (the tools file, a migration): every
        # lifespan stopped all the same, where it is (once stopped, a lifespan is done).
        await lifespans.shutdown()


def features_of(app: AppParts | None) -> tuple[Feature, ...]:
    """The bot's features: its list (bot/features/installed.py), then the App's own and
    those it added (its plugins')."""
    from bot.features.installed import bot_features

    return bot_features(app.features if app is not None else ())


def signed_in_directory(signed_in: SignedIn, built: Built) -> EmployeeDirectory:
    """The employee directory of `signed_in`'s users, then of the identity feature's sign-ins
    (found when asked: that feature builds after this is added)."""

    def other() -> EmployeeDirectory | None:
        return next((d for d in built.all(EmployeeDirectory) if d is not directory), None)

    async def employee(user_id: int) -> Employee | None:
        found = await signed_in.of(user_id)
        rest = other()
        return found if found is not None or rest is None else await rest.employee(user_id)

    async def shown(user_id: int) -> str:
        found = await signed_in.shown(user_id)
        rest = other()
        return found if found or rest is None else await rest.shown(user_id)

    async def members(group: str) -> list[int]:
        rest = other()
        more = await rest.members(group) if rest is not None else []
        return sorted({*await signed_in.members(group), *more})

    directory = EmployeeDirectory(employee, shown, members)
    return directory
