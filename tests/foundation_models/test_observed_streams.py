"""What each chat wire tells its observer about a streamed generation: the tokens the server
counted when the answer ends, and a stream that breaks after it started as the endpoint's
failure (bot/metrics turns both into fmbot_yandex_tokens_total and fmbot_yandex_errors_total)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.errors import StreamError
from bot.foundation_models.observer import NullObserver
from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
from bot.foundation_models.responses import ResponsesChatModel
from bot.foundation_models.types import ChatMessage, Role, Snapshot
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import API_KEY, FAST_RETRY, FAST_TIMEOUTS, FOLDER

HI = [ChatMessage(Role.USER, "hi")]


class Seen(NullObserver):
    def __init__(self) -> None:
        self.usages: list[tuple[str, int, int]] = []
        self.failures: list[tuple[str, str]] = []

    def usage(self, model: str, input_tokens: int, output_tokens: int) -> None:
        self.usages.append((model, input_tokens, output_tokens))

    def failure(self, endpoint: str, error: str) -> None:
        self.failures.append((endpoint, error))


Wire = Callable[[FakeFoundationModels, Seen], AbstractAsyncContextManager[object]]


def native(fm: FakeFoundationModels, seen: Seen) -> FoundationModelsClient:
    return FoundationModelsClient(folder_id=FOLDER, auth=ApiKeyAuth(API_KEY), llm_url=fm.url,
                                  operation_url=fm.url, retry=FAST_RETRY,
                                  timeouts=FAST_TIMEOUTS, observer=seen)


def compatible(fm: FakeFoundationModels, seen: Seen) -> OpenAICompatibleChatModel:
    return OpenAICompatibleChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                                     folder_id=FOLDER, retry=FAST_RETRY, observer=seen)


def responses(fm: FakeFoundationModels, seen: Seen) -> ResponsesChatModel:
    return ResponsesChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                              folder_id=FOLDER, retry=FAST_RETRY, timeouts=FAST_TIMEOUTS,
                              observer=seen)


WIRES = {"completion": native, "chat.completions": compatible, "responses": responses}


@pytest.fixture(params=list(WIRES))
async def wire(
    request: pytest.FixtureRequest, fm: FakeFoundationModels
) -> AsyncIterator[tuple[str, object, Seen]]:
    seen = Seen()
    endpoint = str(request.param)
    model = WIRES[endpoint](fm, seen)
    yield endpoint, model, seen
    await model.aclose()


async def drain(model: object) -> list[Snapshot]:
    return [s async for s in model.stream(HI, model="yandexgpt-lite")]  # type: ignore[attr-defined]


async def test_an_answer_counts_its_tokens_once_at_its_end(
    fm: FakeFoundationModels, wire: tuple[str, object, Seen]
) -> None:
    _, model, seen = wire
    fm.queue_reply("one two three", chunks=3)
    snapshots = await drain(model)
    assert snapshots[-1].is_final
    [(label, _, output)] = seen.usages
    assert "yandexgpt-lite" in label
    assert output == snapshots[-1].usage.completion_tokens > 0
    assert seen.failures == []


async def test_a_stream_cut_after_it_started_is_the_endpoints_failure(
    fm: FakeFoundationModels, wire: tuple[str, object, Seen]
) -> None:
    endpoint, model, seen = wire
    fm.queue_reply("a b c d", chunks=4, fault="cut", fault_after=2)
    with pytest.raises(StreamError):
        await drain(model)
    assert seen.failures == [(endpoint, "StreamError")]
    assert seen.usages == []
