"""The models check (`fmbot check` and the start-up log) against the fake's `GET /v1/models`,
whose listing leaves served models out as Yandex's does; and the wire / built-in tools /
reasoning lines, with REASONING=on refused on the Responses wire."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.cli.checks.models import check_models
from bot.cli.checks.wire import wire_outcomes
from bot.config import ConfigError
from bot.features.installed import FEATURES
from bot.features.settings import Settings
from bot.plugin.clients import build_auth_from, build_client
from bot.wiring.model_catalog import MODELS_PAGE, log_models
from bot.wiring.preflight import problems
from bot.wiring.run import run_bot
from tests.fakes.yandex.server import FakeFoundationModels

API_KEY = "models-key"
FOLDER = "b1gmodels"


def uri(name: str, scheme: str = "gpt") -> str:
    return f"{scheme}://{FOLDER}/{name}"


def settings_for(fm: FakeFoundationModels, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": "1:t", "yandex_api_key": API_KEY, "yandex_folder_id": FOLDER,
        "yandex_llm_url": fm.url, "yandex_operation_url": fm.url, "stt_url": fm.url,
        "database_url": "sqlite+aiosqlite:///:memory:",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def fm() -> Any:
    async with FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as server:
        server.served_models = {uri("yandexgpt/latest"), uri("yandexgpt-lite/latest"),
                                uri("gemma-3-27b-it/latest"), uri("yandex-art/latest", "art")}
        # Served, but the listing leaves it out (as recorded listings leave some out).
        server.unlisted_models = {uri("yandexgpt-lite/latest")}
        yield server


async def test_an_unlisted_model_that_answers_passes_and_only_the_unknown_one_fails(
    fm: FakeFoundationModels,
) -> None:
    settings = settings_for(fm, allowed_text_models="yandexgpt-lite,yandexgpt-32k/latest")
    outcomes = await check_models(settings, FEATURES)
    (outcome,) = outcomes
    assert not outcome.ok
    assert outcome.detail.startswith("ALLOWED_TEXT_MODELS=yandexgpt-32k/latest: the API "
                                     f"refuses {uri('yandexgpt-32k/latest')} as unknown")
    assert "ALLOWED_TEXT_MODELS" in outcome.fix
    # The unlisted but served model was probed (one token) and not reported; the listed ones
    # were not probed; the image model was neither probed nor reported.
    probes = [r.json["modelUri"] for r in fm.requests if r.path.endswith("/completion")]
    assert sorted(probes) == [uri("yandexgpt-32k/latest"), uri("yandexgpt-lite/latest")]
    assert all(r.json["completionOptions"]["maxTokens"] == "1" for r in fm.requests
               if r.path.endswith("/completion"))
    assert not any("imageGeneration" in r.path for r in fm.requests)


async def test_every_model_served_passes_with_a_summary(fm: FakeFoundationModels) -> None:
    settings = settings_for(fm, allowed_text_models="yandexgpt-lite")
    (outcome,) = await check_models(settings, FEATURES)
    assert outcome.ok, outcome.line()
    assert outcome.detail == ("4 configured: 2 listed, 1 not listed but answered a probe, 1 in "
                              "Yandex's current image model list")
    assert not any("images" in r.path or "imageGeneration" in r.path for r in fm.requests)


async def test_the_vision_model_is_probed_on_the_openai_wire(fm: FakeFoundationModels) -> None:
    fm.unlisted_models.add(uri("gemma-3-27b-it/latest"))
    (outcome,) = await check_models(settings_for(fm), FEATURES)
    assert outcome.ok, outcome.line()
    (probe,) = [r.json for r in fm.requests if r.path == "/v1/chat/completions"]
    assert probe["model"] == uri("gemma-3-27b-it/latest")
    assert probe["max_tokens"] == 1


async def test_run_logs_a_retired_model_and_goes_on(
    fm: FakeFoundationModels, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.models")
    settings = settings_for(fm, text_model="yandexgpt-32k/latest")
    auth = build_auth_from(settings)
    async with build_client(settings, auth) as client:
        await log_models(settings, FEATURES, client, client, auth)
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING and r.name == "bot.models"]
    assert warnings == [f"models: TEXT_MODEL=yandexgpt-32k/latest: the API refuses "
                        f"{uri('yandexgpt-32k/latest')} as unknown (Model "
                        f"{uri('yandexgpt-32k/latest')} not found); set TEXT_MODEL to a model "
                        "the folder serves"]
    assert any(r.getMessage().startswith("models: 3 configured") for r in caplog.records)


async def test_the_wire_lines_name_the_wire_its_tools_and_reasoning(
    fm: FakeFoundationModels,
) -> None:
    lines = {o.name: o for o in wire_outcomes(settings_for(fm, text_api="responses"))}
    assert lines["wire"].detail == (f"TEXT_API=responses: AI Studio's Responses API "
                                    f"({fm.url}/v1/responses, store=false)")
    assert lines["built-in tools"].detail == "none"
    assert lines["reasoning"].detail == "off"
    tools = {o.name: o for o in wire_outcomes(settings_for(
        fm, text_api="responses", web_search="on", kb_backend="yandex"))}
    assert tools["built-in tools"].detail == "web_search, file_search"
    native = {o.name: o for o in wire_outcomes(settings_for(fm, reasoning="on"))}
    assert native["reasoning"].detail.startswith("on: reasoningOptions.mode=ENABLED_HIDDEN")
    openai = {o.name: o for o in wire_outcomes(settings_for(
        fm, text_api="openai", reasoning="on", reasoning_effort="high"))}
    assert openai["reasoning"].detail == "on: reasoning_effort=high for gpt-oss models"


async def test_reasoning_on_the_responses_wire_is_refused_at_start(
    fm: FakeFoundationModels,
) -> None:
    settings = settings_for(fm, text_api="responses", reasoning="on")
    found = problems(settings, "run", FEATURES)
    assert found == ["REASONING=on is not available with TEXT_API=responses: Yandex's "
                     "Responses API does not support reasoning yet; set REASONING=off, or "
                     "TEXT_API=native (YandexGPT Pro) or TEXT_API=openai (gpt-oss)"]
    lines = {o.name: o for o in wire_outcomes(settings)}
    assert not lines["reasoning"].ok


@pytest.mark.parametrize("image_model", ["yandex-art/latest", "yandex-art-2.0",
                                         f"art://{FOLDER}/yandex-art/latest"])
async def test_a_retired_image_model_fails_the_check_naming_the_setting_and_its_successor(
    fm: FakeFoundationModels, image_model: str
) -> None:
    (outcome,) = await check_models(settings_for(fm, image_model=image_model), FEATURES)
    assert not outcome.ok
    assert outcome.detail == (f"IMAGE_MODEL={image_model}: YandexART 2.0 was retired on 18 "
                              "August 2026; Yandex recommends aliceai-image-art-3.0")
    assert outcome.fix.startswith("set IMAGE_MODEL=aliceai-image-art-3.0 (see https://")
    # Found without drawing: no image request of either kind reached the fake.
    assert not any("images" in r.path or "imageGeneration" in r.path for r in fm.requests)


async def test_run_refuses_a_retired_image_model_before_it_asks_anyone(
    fm: FakeFoundationModels,
) -> None:
    # Telegram on the fake too: loopback only, and any request the bot sends is recorded.
    settings = settings_for(fm, image_model="yandex-art/latest", telegram_api_url=fm.url)
    with pytest.raises(ConfigError) as refused:
        await run_bot(settings, "You are a bot.")
    assert str(refused.value) == (
        "IMAGE_MODEL=yandex-art/latest: YandexART 2.0 was retired on 18 August 2026; Yandex "
        "recommends aliceai-image-art-3.0; set IMAGE_MODEL=aliceai-image-art-3.0 (see "
        f"{MODELS_PAGE})")
    assert fm.requests == []  # nothing was built or asked: no model, no picture


async def test_the_default_image_model_is_alice_ai_art() -> None:
    assert Settings(_env_file=None, telegram_bot_token="1:t").image_model == (  # type: ignore[call-arg]
        "aliceai-image-art-3.0")
