from __future__ import annotations

import pytest

from bot.foundation_models.errors import InvalidRequestError
from bot.foundation_models.uris import folder_of, resolve_model_uri


@pytest.mark.parametrize(
    ("name", "scheme", "uri"),
    [
        ("yandexgpt-lite", "gpt", "gpt://f1/yandexgpt-lite/latest"),
        ("yandexgpt/rc", "gpt", "gpt://f1/yandexgpt/rc"),
        ("yandex-art", "art", "art://f1/yandex-art/latest"),
        ("text-search-query/latest", "emb", "emb://f1/text-search-query/latest"),
        (" llama/latest ", "gpt", "gpt://f1/llama/latest"),
        ("gpt://other/yandexgpt/rc", "gpt", "gpt://other/yandexgpt/rc"),
        ("gpt://f/yandexgpt-lite/latest@tamr0001", "gpt", "gpt://f/yandexgpt-lite/latest@tamr0001"),
        ("cls://yc.fomo/yandexgpt-lite/rc@x", "cls", "cls://yc.fomo/yandexgpt-lite/rc@x"),
    ],
)
def test_resolve(name: str, scheme: str, uri: str) -> None:
    assert resolve_model_uri(name, "f1", scheme) == uri  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "http://x/y", "gpt://", "a b", "/x", "gpt://f"])
def test_rejects(name: str) -> None:
    with pytest.raises(InvalidRequestError):
        resolve_model_uri(name, "f1")


def test_short_name_needs_folder_and_folder_of() -> None:
    with pytest.raises(InvalidRequestError, match="folder"):
        resolve_model_uri("yandexgpt", "")
    assert folder_of("gpt://b1g/yandexgpt/rc") == "b1g"
    assert folder_of("qwen") == ""
