"""Settings: the public variable names, blank values, and the one-line start-up errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.features.settings import Settings


def make(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    monkeypatch.chdir("/")  # no .env from the developer's checkout
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


@pytest.mark.slow
def test_blank_credentials_from_a_copied_env_example_count_as_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make(monkeypatch, YANDEX_API_KEY="", YANDEX_FOLDER_ID="b1g", TELEGRAM_BOT_TOKEN="")
    with pytest.raises(ConfigError, match="YANDEX_API_KEY, YANDEX_IAM_TOKEN"):
        settings.check_yandex()
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        settings.check_telegram()


def test_two_credentials_are_contradictory(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(monkeypatch, YANDEX_API_KEY="k", YANDEX_IAM_TOKEN="t", YANDEX_FOLDER_ID="f")
    with pytest.raises(ConfigError, match="YANDEX_API_KEY and YANDEX_IAM_TOKEN"):
        settings.check_yandex()


def test_missing_folder_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(monkeypatch, YANDEX_API_KEY="k")
    with pytest.raises(ConfigError, match="YANDEX_FOLDER_ID"):
        settings.check_yandex()


def test_lists_and_context_sizes_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(
        monkeypatch,
        ALLOWED_USER_IDS="1, 2,3",
        ADMIN_USER_IDS="",
        ALLOWED_TEXT_MODELS="yandexgpt-lite/latest,yandexgpt/latest",
        MODEL_CONTEXT_SIZES="yandexgpt/latest=8000",
        TEXT_MODEL="yandexgpt/latest",
        YANDEX_LLM_URL="http://127.0.0.1:9/",
    )
    assert settings.allowed_user_ids == [1, 2, 3]
    assert settings.admin_user_ids == []
    assert settings.text_models == ["yandexgpt/latest", "yandexgpt-lite/latest"]
    assert settings.model_context_sizes == {"yandexgpt/latest": 8000}
    assert settings.openai_url == "http://127.0.0.1:9/v1"


def test_webhook_mode_needs_url_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(monkeypatch, TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_MODE="webhook")
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_URL"):
        settings.check_telegram()
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://example.invalid/hook")
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        Settings().check_telegram()


def test_knowledge_base_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Issue 16: KB_MODE defaults to assist with KB_PATH and to off without it.
    assert make(monkeypatch).knowledge.mode == "off"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    settings = make(monkeypatch, KB_PATH=f"{tmp_path / 'a'}, {tmp_path / 'b'}", KB_MODE="")
    knowledge = settings.knowledge
    assert knowledge.paths == (tmp_path / "a", tmp_path / "b")
    assert knowledge.mode == "assist"
    knowledge.check()
    assert (knowledge.top_k, knowledge.sync_interval) == (5, 600)
    assert (settings.embedding_rps, settings.embedding_query_model) == (
        10, "text-search-query/latest")
    strict = make(monkeypatch, KB_PATH=str(tmp_path / "missing"), KB_MODE="Strict").knowledge
    assert strict.mode == "strict"
    with pytest.raises(ConfigError, match="KB_PATH: no such folder"):
        strict.check()
    monkeypatch.delenv("KB_PATH")
    with pytest.raises(ConfigError, match="KB_MODE=strict needs KB_PATH"):
        make(monkeypatch, KB_MODE="strict").knowledge.check()


# --- several replicas (issue 18) ---------------------------------------------------------------


def test_redis_needs_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/0")
    with pytest.raises(ConfigError, match="REDIS_URL is set but DATABASE_URL is SQLite"):
        settings.check_replicas()
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@127.0.0.1/fmbot")
    Settings().check_replicas()
    monkeypatch.setenv("REDIS_URL", "http://127.0.0.1:6379")
    with pytest.raises(ConfigError, match="REDIS_URL must start with redis://"):
        Settings().check_replicas()


def test_replica_id_and_metrics_listen(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import socket

    settings = make(monkeypatch, METRICS_LISTEN="127.0.0.1:9090")
    assert settings.replica_id == f"{socket.gethostname()}-{os.getpid()}"
    assert settings.metrics_host_port == ("127.0.0.1", 9090)
    assert make(monkeypatch, METRICS_LISTEN=":9100").metrics_host_port == ("0.0.0.0", 9100)
    assert make(monkeypatch, REPLICA_ID="web-1").replica_id == "web-1"
    assert make(monkeypatch, REPLICA_ID=" ").replica_id == f"{socket.gethostname()}-{os.getpid()}"
    with pytest.raises(ConfigError, match="METRICS_LISTEN must be host:port"):
        make(monkeypatch, METRICS_LISTEN="9090x").metrics_host_port  # noqa: B018


def test_the_tool_loop_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    default = make(monkeypatch).tools
    assert (default.max_rounds, default.confirm_ttl) == (6, 600.0)
    assert default.models == {"yandexgpt", "llama", "qwen3-235b-a22b-fp8", "gemma-3-27b-it"}
    settings = make(monkeypatch, TOOLS_MODELS="yandexgpt, qwen3-235b-a22b-fp8",
                    TOOLS_MAX_ROUNDS="3", TOOLS_PARALLEL="2", TOOLS_RESULT_CHARS="1000").tools
    assert settings.models == {"yandexgpt", "qwen3-235b-a22b-fp8"}
    assert (settings.max_rounds, settings.parallel) == (3, 2)
    monkeypatch.setenv("TOOLS_MAX_ROUNDS", "0")
    with pytest.raises(ValueError, match="TOOLS_MAX_ROUNDS"):
        Settings()


def test_max_document_mb_defaults_to_telegrams_limit_and_stays_within_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    assert make(monkeypatch).documents.max_mb == 20.0
    assert make(monkeypatch, MAX_DOCUMENT_MB="2.5").documents.max_mb == 2.5
    with pytest.raises(ValidationError, match="MAX_DOCUMENT_MB"):
        make(monkeypatch, MAX_DOCUMENT_MB="25")


async def test_the_images_api_goes_to_the_host_yandex_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Yandex serves the Images API at https://ai.api.cloud.yandex.net/v1/images/generations
    # (https://aistudio.yandex.ru/docs/ru/ai-studio/api-ref/Images/createImage); the default
    # was {YANDEX_LLM_URL}/v1, the llm.api host, where it is not documented (issue 61).
    from bot.foundation_models.auth import ApiKeyAuth
    from bot.foundation_models.client import FoundationModelsClient
    from bot.plugin.clients import build_client

    documented = "https://ai.api.cloud.yandex.net/v1"
    settings = make(monkeypatch, YANDEX_API_KEY="k", YANDEX_FOLDER_ID="f")
    assert settings.images_url == documented
    async with build_client(settings, ApiKeyAuth("k")) as built, FoundationModelsClient(
        folder_id="f", auth=ApiKeyAuth("k")
    ) as library_default:
        assert built.images_url == documented
        assert library_default.images_url == documented
    # YANDEX_IMAGES_URL overrides it; a YANDEX_LLM_URL of a proxy or a fake serves both.
    assert make(monkeypatch, YANDEX_IMAGES_URL="https://proxy.example/v1/").images_url == (
        "https://proxy.example/v1"
    )
    monkeypatch.delenv("YANDEX_IMAGES_URL")
    assert make(monkeypatch, YANDEX_LLM_URL="http://127.0.0.1:9").images_url == (
        "http://127.0.0.1:9/v1"
    )
