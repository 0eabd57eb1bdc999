"""REASONING=on through the conversation core and the fake server: the native API gets
`reasoningOptions.mode = ENABLED_HIDDEN` for YandexGPT Pro only, the OpenAI-compatible API
`reasoning_effort` for gpt-oss only; reasoning tokens count in the day's tokens (the budget)
and apart for /stats; the reasoning text never reaches the answer."""

from __future__ import annotations

import pytest

from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
from bot.storage.database import Database
from bot.storage.models import utc_today
from bot.storage.repositories.usage import UsageRepository
from bot.testing.yandex import payloads as p
from tests.conversation.conftest import ANNA, API_KEY, FOLDER, PRIVATE, make_service
from tests.fakes.yandex.server import FakeFoundationModels

PATH = "/foundationModels/v1/completion"


def native_bodies(fm: FakeFoundationModels) -> list[dict[str, object]]:
    return [r.json for r in fm.requests if r.path == PATH]


@pytest.mark.parametrize(("model", "asked"), [("yandexgpt/latest", True),
                                              ("yandexgpt-lite", False)])
async def test_native_reasoning_is_asked_of_pro_only_and_its_tokens_are_counted(
    database: Database, fm: FakeFoundationModels, model: str, asked: bool
) -> None:
    async with FoundationModelsClient(folder_id=FOLDER, auth=ApiKeyAuth(API_KEY),
                                      llm_url=fm.url, reasoning_mode="ENABLED_HIDDEN") as client:
        service = make_service(database, client, default_model=model)
        fm.queue_reply("Four words of answer", chunks=2)
        result = await service.run_turn(PRIVATE, ANNA, "How much is 2+2?")
    (body,) = native_bodies(fm)
    options = body["completionOptions"]
    assert isinstance(options, dict)
    assert ("reasoningOptions" in options) is asked
    assert result.text == "Four words of answer"
    assert result.usage is not None
    reasoning = p.REASONING_TOKENS if asked else 0
    assert result.usage.reasoning_tokens == reasoning
    assert result.usage.completion_tokens == 4 + reasoning
    async with database.sessionmaker() as session:
        day = await UsageRepository(session).for_user(ANNA.user_id, utc_today())
    assert day.tokens == result.usage.total_tokens
    assert day.reasoning_tokens == reasoning


@pytest.mark.slow
async def test_openai_reasoning_effort_goes_to_gpt_oss_and_its_text_is_never_shown(
    database: Database, fm: FakeFoundationModels
) -> None:
    async with OpenAICompatibleChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                                         folder_id=FOLDER, reasoning_effort="high") as chat:
        service = make_service(database, chat, default_model="gpt-oss-120b/latest")
        fm.queue_reply("The answer is four", chunks=2)
        result = await service.run_turn(PRIVATE, ANNA, "How much is 2+2?")
        fm.queue_reply("No reasoning here")
        qwen = make_service(database, chat, default_model="qwen3-235b-a22b-fp8/latest")
        await qwen.run_turn(PRIVATE, ANNA, "And 3+3?")
    first, second = [r.json for r in fm.requests if r.path == "/v1/chat/completions"]
    assert first["reasoning_effort"] == "high"
    assert "reasoning_effort" not in second
    assert result.text == "The answer is four"
    assert p.REASONING_TEXT not in result.text
    assert result.usage is not None
    assert result.usage.reasoning_tokens == p.REASONING_TOKENS
    async with database.sessionmaker() as session:
        day = await UsageRepository(session).for_user(ANNA.user_id, utc_today())
    assert day.reasoning_tokens == p.REASONING_TOKENS
