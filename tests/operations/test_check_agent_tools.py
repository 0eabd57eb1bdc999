"""`bot check` with the Responses API's built-in tools: the Vector Store of KB_BACKEND=yandex
is reached with the deployment's credentials, a missing role or store is named with its fix,
and WEB_SEARCH=on says what it searches; WEB_SEARCH=on without TEXT_API=responses is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.cli.checks import run_checks
from bot.features.installed import FEATURES
from bot.wiring.preflight import problems
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels
from tests.operations.test_check import API_KEY, FOLDER, TOKEN, by_name, settings_for

Fakes = tuple[TelegramServer, FakeFoundationModels]


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    async with TelegramServer(TOKEN) as tg, FakeFoundationModels(
        api_key=API_KEY, folder_id=FOLDER
    ) as fm:
        yield tg, fm


async def test_a_configured_store_is_reachable(fakes: Fakes, sqlite_url: str) -> None:
    tg, fm = fakes
    store = fm.create_store("support")
    fm.add_file(store.id, "delivery.md", "Parcels arrive within three days.")
    settings = settings_for(tg, fm, sqlite_url, text_api="responses", kb_backend="yandex",
                            kb_vector_store_id=store.id)
    outcome = by_name(await run_checks(settings))["vector store"]
    assert outcome.ok, outcome
    assert f"{store.id} (support): completed, 1 files" in outcome.detail
    assert any(r.path == f"/v1/vector_stores/{store.id}" for r in fm.requests)


async def test_an_unset_store_id_lists_the_folder_instead(fakes: Fakes, sqlite_url: str) -> None:
    tg, fm = fakes
    settings = settings_for(tg, fm, sqlite_url, text_api="responses", kb_backend="yandex")
    outcome = by_name(await run_checks(settings))["vector store"]
    assert outcome.ok, outcome
    assert "kb sync` creates a store" in outcome.detail


async def test_a_missing_role_is_named(fakes: Fakes, sqlite_url: str) -> None:
    tg, fm = fakes
    fm.vector_stores_forbidden = True
    settings = settings_for(tg, fm, sqlite_url, text_api="responses", kb_backend="yandex",
                            kb_vector_store_id="fvt-any")
    outcome = by_name(await run_checks(settings))["vector store"]
    assert not outcome.ok
    assert "(403)" in outcome.detail
    assert "ai.assistants.editor" in outcome.fix
    assert "b1gcheck" in outcome.fix


async def test_an_unknown_store_names_the_setting(fakes: Fakes, sqlite_url: str) -> None:
    tg, fm = fakes
    settings = settings_for(tg, fm, sqlite_url, text_api="responses", kb_backend="yandex",
                            kb_vector_store_id="fvt-gone")
    outcome = by_name(await run_checks(settings))["vector store"]
    assert not outcome.ok
    assert "no vector store 'fvt-gone'" in outcome.detail
    assert "KB_VECTOR_STORE_ID" in outcome.fix


async def test_web_search_says_what_it_searches(fakes: Fakes, sqlite_url: str) -> None:
    tg, fm = fakes
    settings = settings_for(tg, fm, sqlite_url, text_api="responses", web_search="on",
                            web_search_domains="example.com,docs.example.com",
                            web_search_region="213")
    outcome = by_name(await run_checks(settings))["web search"]
    assert outcome.ok
    assert outcome.detail == ("on: example.com, docs.example.com, region 213, context medium, "
                              "50 per user a day")


def test_web_search_without_the_responses_wire_is_one_start_error(
    fakes: Fakes, sqlite_url: str
) -> None:
    tg, fm = fakes
    settings = settings_for(tg, fm, sqlite_url, web_search="on")
    found = problems(settings, "run", FEATURES)
    assert found == ["WEB_SEARCH=on needs TEXT_API=responses (it is native): web search is a "
                     "tool of Yandex's Responses API"]
    yandex_kb = settings_for(tg, fm, sqlite_url, kb_backend="yandex", text_api="openai")
    assert problems(yandex_kb, "run", FEATURES) == [
        "KB_BACKEND=yandex needs TEXT_API=responses (it is openai): file search is a tool of "
        "Yandex's Responses API"]
