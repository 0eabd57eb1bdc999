"""Web search and Yandex's file search on the Responses wire, in process: url_citations become
numbered links and a "Sources:" footer (private and group chats), a status line shows while the
search runs, a failed search is answered without sources and logged once, the per-user limit
holds, a request refused for the tool is answered without it (and the refusal remembered), and
strict file search answers from the store KB_PATH was synced into, or "not found". Was
tests/e2e/test_web_search.py, with the bot as a process."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot import App
from bot.testing import BotTester, ServiceModel
from tests.features.sending import links, rows

pytestmark = [pytest.mark.timeout(90)]
URLS = ["www.rbc.ru", "https://ria.ru/news/1", "www.rbc.ru", "https://example.com/a?b=1"]
RESPONSES = "/v1/responses"


def searches(model: ServiceModel) -> list[dict[str, Any]]:
    """The web_search tools of the Responses requests, in order."""
    return [tool for r in model.service.requests if r.path == RESPONSES
            for tool in (r.json or {}).get("tools") or [] if tool.get("type") == "web_search"]


def logged(caplog: pytest.LogCaptureFixture, words: str) -> int:
    return sum(1 for r in caplog.records if words in r.getMessage())


async def test_web_search_answers_cite_numbered_sources_within_the_daily_limit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    model = ServiceModel()
    fm = model.service
    settings = {"TEXT_API": "responses", "WEB_SEARCH": "on",
                "WEB_SEARCH_DOMAINS": "rbc.ru,ria.ru", "WEB_SEARCH_REGION": "213",
                "WEB_SEARCH_CONTEXT": "high", "WEB_SEARCHES_PER_USER_DAY": "3",
                "ADMIN_USER_IDS": "1001"}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        anna, boris = tester.user("Anna"), tester.user("Boris")
        assert anna.id == 1001
        # Three distinct pages (one cited twice): three numbered links, the title when Yandex
        # gives one, the host otherwise; the draft said what was happening meanwhile.
        fm.queue_web_search(URLS, titles=["", "RIA: the news", "", ""], seconds=0.3)
        fm.queue_reply("The rate was raised today.", chunks=3, interval=0.05)
        answer = await anna.says("What happened with the key rate today?")
        assert answer.text == ("The rate was raised today.\n\nSources:\n[1] www.rbc.ru\n"
                               "[2] RIA: the news\n[3] example.com")
        assert links(answer) == ["https://www.rbc.ru", "https://ria.ru/news/1",
                                 "https://example.com/a?b=1"]
        assert "Searching the web…" in answer.drafts
        assert searches(model)[0] == {
            "type": "web_search", "search_context_size": "high",
            "filters": {"allowed_domains": ["rbc.ru", "ria.ru"],
                        "user_location": {"region": "213"}}}

        # A group answer carries the same footer.
        fm.queue_web_search(["https://ria.ru/news/2", "lenta.ru", "www.rbc.ru/x"])
        fm.queue_reply("In the group: the rate went up.")
        team = tester.group("Team", id=-2101)
        group = await team.says(anna, "@fmbot_test_bot what about the key rate?")
        assert group.text.endswith("Sources:\n[1] ria.ru\n[2] lenta.ru\n[3] www.rbc.ru")
        assert len(links(group)) == 3

        # A search that fails: the answer comes without sources, and the log says so once.
        fm.queue_web_search([], fail=True)
        fm.queue_reply("I could not look it up, but rates change often.")
        failed = await anna.says("And what about inflation?")
        assert failed.text == "I could not look it up, but rates change often."
        assert links(failed) == []
        assert logged(caplog, "web search failed for answer") == 1

        # Three searches counted for the user (the group's too): the fourth question goes
        # without the tool, and is answered all the same.
        assert len(searches(model)) == 3
        fm.queue_reply("Without a search: rates are set by the central bank.")
        plain = await anna.says("Who sets the key rate?")
        assert plain.text == "Without a search: rates are set by the central bank."
        assert len(searches(model)) == 3
        stats = await anna.says("/stats")
        assert "Web searches: 3." in stats.text
        assert "Web searches today for all users: 3." in stats.text

        # Yandex refuses the whole request for the tool (no permission): another user is
        # answered without it and without sources, the log says why once, and the next turn
        # leaves the tool out instead of being refused again.
        fm.web_search_refused = (403, "Permission denied")
        fm.queue_reply("Answered without the web.")
        other = await boris.says("What is new today?")
        assert other.text == "Answered without the web."
        assert links(other) == []
        fm.queue_reply("Still without the web.")
        again = await boris.says("And tomorrow?")
        assert again.text == "Still without the web."
        assert fm.web_search_refusals == 1
        assert logged(caplog, "web search refused by the API") == 1
        [total] = await rows(
            tester, "SELECT SUM(amount) AS n FROM daily_counts WHERE kind = 'web_searches'")
        assert total["n"] == 3


async def test_strict_file_search_answers_from_the_store_or_not_found(tmp_path: Path) -> None:
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "delivery.md").write_text("# Delivery\n\nParcels arrive within three working days "
                                      "in Moscow.\n")
    model = ServiceModel()
    fm = model.service
    settings = {"TEXT_API": "responses", "KB_BACKEND": "yandex", "KB_PATH": docs,
                "KB_MODE": "strict"}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        # Synced at start: without KB_VECTOR_STORE_ID the sync creates a store.
        [store] = fm.stores.values()
        assert len(await rows(tester, "SELECT * FROM kb_store_files")) == 1
        assert len(store.files) == 1
        anna = tester.user("Anna")
        answer = await anna.says("How many days do parcels take to arrive in Moscow?")
        assert answer.text == ("Parcels arrive within three working days in Moscow.\n\n"
                               "Sources:\n[1] delivery.md")
        request = next(r for r in fm.requests if r.path == RESPONSES)
        assert {"type": "file_search", "vector_store_ids": [store.id],
                "max_num_results": 5} in request.json["tools"]
        assert "NO_ANSWER_IN_SOURCES" in request.json["instructions"]
        refused = await anna.says("Who won the football world cup in 2018?")
        assert refused.text == "I could not find this in our knowledge base."
