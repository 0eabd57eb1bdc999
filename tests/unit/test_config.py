"""Settings: the public variable names, blank values, and the one-line start-up errors."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings


def make(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    monkeypatch.chdir("/")  # no .env from the developer's checkout
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


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
