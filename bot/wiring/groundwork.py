"""What the composition root builds before the features and gives each feature's build
(bot/features/<name>/build.py) to build its parts on: the settings, the database, the model
clients and their credentials, the exit stack their resources close on; and what the
Telegram front end gives the core (`FrontEnd`). Names no feature."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bot.features.settings import Settings
from bot.foundation_models.auth import Auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatModel
from bot.storage.database import Database

if TYPE_CHECKING:
    from bot.conversation.listeners import Listeners
    from bot.foundation_models.limits import GenerationLimit
    from bot.storage.repositories import StoredImage

# An earlier image fetched again (from Telegram), for the vision model.
ImageFetch = Callable[["StoredImage"], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class FrontEnd:
    """What the Telegram front end gives the core, built before it (the terminal chat gives
    none of it): earlier photos fetched again from Telegram, documents sent in chat kept,
    the tool cards a new message took the buttons off, and with several replicas, answers
    tracked until delivered and one generation cap shared by all."""

    telegram: bool = False  # the support desk and documents in chat need Telegram
    fetch_image: ImageFetch | None = None
    superseded: Listeners[[int, list[int]]] | None = None
    track_delivery: bool = False
    generation_limit: GenerationLimit | None = None
    shared: bool = False  # several replicas (REDIS_URL)


@dataclass(frozen=True, slots=True)
class Groundwork:
    """What the features build on. `stack`: where their resources are closed (in reverse
    order of creation); `http`: the HTTP client every model client uses instead of its own
    (bot.testing); `kb_background`: the knowledge base synced at start and every
    KB_SYNC_INTERVAL (`run`)."""

    settings: Settings
    db: Database
    client: FoundationModelsClient
    chat_model: ChatModel
    auth: Auth
    stack: AsyncExitStack
    http: httpx.AsyncClient | None = None
    front: FrontEnd = field(default_factory=FrontEnd)
    kb_background: bool = False


def tool_environment(env_file: Path = Path(".env")) -> dict[str, str]:
    """Where TOOLS_FILE's `${VAR}` come from: the environment, over `.env` (as for Settings)."""
    from dotenv import dotenv_values

    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    values.update(os.environ)
    return values
