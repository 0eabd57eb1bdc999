"""The fake Foundation Models server on 127.0.0.1 and a client of it, as pytest fixtures for
the test modules that talk to Yandex's API over HTTP (import them by name into a conftest or
a test module)."""

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
