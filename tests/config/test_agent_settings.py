"""The web search and Yandex-kept knowledge base settings: each bad value is refused with a
message naming it, and both tools are refused off the Responses wire."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.features.installed import FEATURES
from bot.features.settings import Settings
from bot.wiring.preflight import feature_problems


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_defaults_are_off_and_local() -> None:
    default = settings()
    assert (default.websearch.on, default.knowledge.backend) == (False, "local")
    assert default.websearch.per_user_day == 50
    assert default.websearch.context == "medium"
    assert feature_problems(default, "chat", FEATURES) == []  # nothing to refuse


def test_domains_are_split_and_at_most_five() -> None:
    assert settings(web_search_domains=" Example.com, docs.example.com ,").websearch.domains \
        == ("example.com", "docs.example.com")
    with pytest.raises(ValidationError, match="at most 5 domains"):
        settings(web_search_domains="a.ru,b.ru,c.ru,d.ru,e.ru,f.ru")
    with pytest.raises(ValidationError, match="is not a domain"):
        settings(web_search_domains="https://example.com/page")


def test_context_and_backend_take_only_their_words() -> None:
    assert settings(web_search_context="HIGH", kb_backend="Yandex").knowledge.backend == "yandex"
    with pytest.raises(ValidationError, match="WEB_SEARCH_CONTEXT"):
        settings(web_search_context="max")


def test_both_tools_need_the_responses_wire() -> None:
    found = feature_problems(settings(web_search="on", kb_backend="yandex", text_api="openai"),
                             "chat", FEATURES)
    assert found == [  # in the order of the features' list: the knowledge base, web search
        "KB_BACKEND=yandex needs TEXT_API=responses (it is openai): file search is a tool of "
        "Yandex's Responses API",
        "WEB_SEARCH=on needs TEXT_API=responses (it is openai): web search is a tool of "
        "Yandex's Responses API",
    ]
    assert feature_problems(settings(web_search="on", kb_backend="yandex",
                                     text_api="responses"), "chat", FEATURES) == []
