"""Insight fixtures: the real client against the fake Foundation Models server, a migrated
SQLite database (and PostgreSQL when reachable, through `database`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.foundation_models.client import FoundationModelsClient
from tests.conversation.conftest import API_KEY, FOLDER, fake_client
from tests.fakes.yandex.server import FakeFoundationModels


@pytest.fixture
async def fm() -> AsyncIterator[FakeFoundationModels]:
    async with FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as server:
        yield server


@pytest.fixture
async def client(fm: FakeFoundationModels) -> AsyncIterator[FoundationModelsClient]:
    model = fake_client(fm.url)
    try:
        yield model
    finally:
        await model.aclose()
