"""Core fixtures: the real Foundation Models client over HTTP to the fake server, and a
migrated database (B's `database` fixture: SQLite file, and PostgreSQL when reachable)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.conversation import ChatRef, ConversationService, Speaker, TurnOptions
from bot.features.images.service import ImageService
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.transport import RetryPolicy, Timeouts
from bot.foundation_models.types import PollPolicy
from bot.storage.database import Database
from tests.fakes.yandex.server import FakeFoundationModels
from tests.turn_features import turn_features

TURN_OPTIONS = frozenset(f.name for f in dataclasses.fields(TurnOptions))

FOLDER = "b1gtestfolder"
API_KEY = "test-api-key"
FAST_POLL = PollPolicy(initial=0.01, multiplier=1.5, max_interval=0.05, deadline=10.0)
PRIVATE = ChatRef(1001, "private")
ANNA = Speaker(11, "Anna")


@pytest.fixture
async def fm() -> AsyncIterator[FakeFoundationModels]:
    async with FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as server:
        yield server


def fake_client(
    url: str, *, timeouts: Timeouts | None = None, http: httpx.AsyncClient | None = None
) -> FoundationModelsClient:
    """The real client pointed at the fake server: no retries, fast polls. The timeouts only
    catch a hang (the fake answers at once): a busy machine must not fail a happy path, so
    tests of a stall give their own. `http`: a client of the caller's (`client_over` on the
    service's in-process transport), closed by the caller."""
    return FoundationModelsClient(
        folder_id=FOLDER,
        auth=ApiKeyAuth(API_KEY),
        llm_url=url,
        operation_url=url,
        timeouts=timeouts or Timeouts(connect=10, first_byte=30, idle=10),
        retry=RetryPolicy(max_attempts=1),
        stream_retry=RetryPolicy(max_attempts=1),
        poll_policy=FAST_POLL,
        http=http,
    )


@pytest.fixture
async def client(fm: FakeFoundationModels) -> AsyncIterator[FoundationModelsClient]:
    model = fake_client(fm.url)
    try:
        yield model
    finally:
        await model.aclose()


FEATURES = ("extras", "documents", "knowledge", "contributors", "vision", "hosted", "tools",
            "not_found_next_step")


def make_service(
    db: Database, client: FoundationModelsClient, **kwargs: Any
) -> ConversationService:
    """The service as the wiring builds it: the features named in `kwargs` (knowledge=...,
    tools=..., ...) become its turn's features, in fmbot's order (bot.features)."""
    chosen = {name: kwargs.pop(name) for name in FEATURES if name in kwargs}
    kwargs["features"] = turn_features(**chosen)
    vision = chosen.get("vision")
    kwargs.setdefault("image_tokens", vision.image_tokens if vision is not None else None)
    options: dict[str, Any] = {
        "default_model": "yandexgpt-lite",
        "default_system_prompt": "You are a helpful assistant.",
        "reply_reserve": 2_000,
        "max_reply_tokens": 1_500,
        "temperature": 0.3,
    }
    # TurnOptions' fields go there, the rest (features, today...) to the service.
    options.update({k: kwargs.pop(k) for k in list(kwargs) if k in TURN_OPTIONS})
    return ConversationService(
        sessionmaker=db.sessionmaker, model=client, options=TurnOptions(**options), **kwargs
    )


@pytest.fixture
def service(database: Database, client: FoundationModelsClient) -> ConversationService:
    return make_service(database, client)


@pytest.fixture
def images(database: Database, client: FoundationModelsClient) -> ImageService:
    return ImageService(
        sessionmaker=database.sessionmaker,
        model=client,
        image_model="yandex-art/latest",
        policy=FAST_POLL,
    )
