"""Fixtures for the Foundation Models client tests: a fake server and clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.foundation_models.auth import ApiKeyAuth, Auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.transport import RetryPolicy, Timeouts
from tests.fakes.yandex.server import FakeFoundationModels

API_KEY = "AQVN-secret-api-key-0123456789"
FOLDER = "b1gtestfolder"
FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.01, jitter=0.1)
FAST_TIMEOUTS = Timeouts(connect=2.0, first_byte=2.0, idle=2.0)


@pytest.fixture
async def fm() -> AsyncIterator[FakeFoundationModels]:
    async with FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as server:
        yield server


class SleepRecorder:
    """The client's sleep seam: records delays and sleeps (almost) not at all."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        import asyncio

        self.delays.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


MakeClient = Callable[..., FoundationModelsClient]


@pytest.fixture
async def make_client(
    fm: FakeFoundationModels, sleeps: SleepRecorder
) -> AsyncIterator[MakeClient]:
    made: list[FoundationModelsClient] = []

    def make(auth: Auth | None = None, **kwargs: Any) -> FoundationModelsClient:
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("timeouts", FAST_TIMEOUTS)
        kwargs.setdefault("sleep", sleeps)
        client = FoundationModelsClient(
            folder_id=kwargs.pop("folder_id", FOLDER),
            auth=auth or ApiKeyAuth(API_KEY),
            llm_url=fm.url,
            operation_url=fm.url,
            **kwargs,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def client(make_client: MakeClient) -> FoundationModelsClient:
    return make_client()
