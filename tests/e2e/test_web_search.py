"""`python -m bot run` on the Responses wire with WEB_SEARCH=on, and with KB_BACKEND=yandex,
against the fake Telegram and Yandex servers: url_citations become numbered links and a
"Sources:" footer (private and group chats), a status line shows while the search runs, a
failed search is answered without sources and logged once, the per-user limit holds, a
request refused for the tool is answered without it (and the refusal remembered), and strict
file search answers "not found" when the store has nothing relevant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import E2E
from tests.e2e.test_knowledge_base import links

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]

USER = 5101
GROUP = -2101
URLS = ["www.rbc.ru", "https://ria.ru/news/1", "www.rbc.ru", "https://example.com/a?b=1"]


async def ask(e2e: E2E, chat_id: int, text: str, **kwargs: Any) -> Any:
    chat = e2e.tg.chats.get(chat_id)
    before = len(chat.bot_messages) if chat is not None else 0
    e2e.tg.send_user_message(chat_id, text, **kwargs)
    messages = await e2e.wait_for(lambda: e2e.tg.chat(chat_id).bot_messages[before:], 30)
    return messages[-1]


def searches(e2e: E2E) -> list[dict[str, Any]]:
    """The web_search tools of the Responses requests, in order."""
    return [tool for r in e2e.fm.requests if r.path == "/v1/responses"
            for tool in (r.json or {}).get("tools") or [] if tool.get("type") == "web_search"]


async def test_web_search_answers_cite_numbered_sources_within_the_daily_limit(
    tmp_path: Path,
) -> None:
    env = {"TEXT_API": "responses", "WEB_SEARCH": "on", "WEB_SEARCH_DOMAINS": "rbc.ru,ria.ru",
           "WEB_SEARCH_REGION": "213", "WEB_SEARCH_CONTEXT": "high",
           "WEB_SEARCHES_PER_USER_DAY": "3", "ADMIN_USER_IDS": str(USER)}
    async with E2E(tmp_path, extra_env=env) as e2e:
        fm = e2e.fm
        await e2e.start_bot()
        # Three distinct pages (one cited twice): three numbered links, the title when Yandex
        # gives one, the host otherwise; the draft said what was happening meanwhile.
        fm.queue_web_search(URLS, titles=["", "RIA: the news", "", ""], seconds=1.5)
        fm.queue_reply("The rate was raised today.", chunks=3, interval=0.4)
        answer = await ask(e2e, USER, "What happened with the key rate today?")
        assert answer.text == ("The rate was raised today.\n\nSources:\n[1] www.rbc.ru\n"
                               "[2] RIA: the news\n[3] example.com")
        assert links(answer) == ["https://www.rbc.ru", "https://ria.ru/news/1",
                                 "https://example.com/a?b=1"]
        drafts = [draft.text for draft in e2e.tg.chat(USER).drafts]
        assert "Searching the web…" in drafts
        assert searches(e2e)[0] == {
            "type": "web_search", "search_context_size": "high",
            "filters": {"allowed_domains": ["rbc.ru", "ria.ru"],
                        "user_location": {"region": "213"}}}

        # A group answer carries the same footer.
        fm.queue_web_search(["https://ria.ru/news/2", "lenta.ru", "www.rbc.ru/x"])
        fm.queue_reply("In the group: the rate went up.")
        e2e.tg.send_user_message(GROUP, "@fm_test_bot what about the key rate?",
                                 chat_type="supergroup", title="Team", user={"id": USER})
        # A group answer is one message, edited as it grows: wait for its final text.
        [group] = await e2e.wait_for(lambda: [m for m in e2e.tg.chat(GROUP).bot_messages
                                              if "Sources:" in (m.text or "")], 30)
        assert group.text.endswith("Sources:\n[1] ria.ru\n[2] lenta.ru\n[3] www.rbc.ru")
        assert len(links(group)) == 3

        # A search that fails: the answer comes without sources, and the log says so once.
        fm.queue_web_search([], fail=True)
        fm.queue_reply("I could not look it up, but rates change often.")
        failed = await ask(e2e, USER, "And what about inflation?")
        assert failed.text == "I could not look it up, but rates change often."
        assert links(failed) == []
        assert e2e.bot.log_text().count("web search failed for answer") == 1

        # Three searches counted for the user (the group's too): the fourth question goes
        # without the tool, and is answered all the same.
        assert len(searches(e2e)) == 3
        fm.queue_reply("Without a search: rates are set by the central bank.")
        plain = await ask(e2e, USER, "Who sets the key rate?")
        assert plain.text == "Without a search: rates are set by the central bank."
        assert len(searches(e2e)) == 3
        stats = await ask(e2e, USER, "/stats")
        assert "Web searches: 3." in stats.text
        assert "Web searches today for all users: 3." in stats.text

        # Yandex refuses the whole request for the tool (no permission): another user is
        # answered without it and without sources, the log says why once, and the next turn
        # leaves the tool out instead of being refused again.
        fm.web_search_refused = (403, "Permission denied")
        fm.queue_reply("Answered without the web.")
        other = await ask(e2e, USER + 1, "What is new today?")
        assert other.text == "Answered without the web."
        assert links(other) == []
        fm.queue_reply("Still without the web.")
        again = await ask(e2e, USER + 1, "And tomorrow?")
        assert again.text == "Still without the web."
        assert fm.web_search_refusals == 1
        assert e2e.bot.log_text().count("web search refused by the API") == 1
        assert await e2e.bot.terminate() == 0
    rows = e2e.db.query("SELECT SUM(web_searches) AS n FROM daily_usage")
    assert rows[0]["n"] == 3


async def test_strict_file_search_answers_from_the_store_or_not_found(tmp_path: Path) -> None:
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "delivery.md").write_text("# Delivery\n\nParcels arrive within three working days "
                                      "in Moscow.\n")
    env = {"TEXT_API": "responses", "KB_BACKEND": "yandex", "KB_PATH": str(docs),
           "KB_MODE": "strict"}
    workdir = tmp_path / "run"
    workdir.mkdir()
    async with E2E(workdir, extra_env=env) as e2e:
        fm = e2e.fm
        await e2e.start_bot()
        # `run` syncs KB_PATH at start: without KB_VECTOR_STORE_ID it creates a store.
        [store] = await e2e.wait_for(lambda: list(fm.stores.values()), 30)
        await e2e.wait_for(lambda: e2e.db.path.exists() and e2e.db.query(
            "SELECT name FROM sqlite_master WHERE name = 'kb_store_files'") and e2e.db.count(
            "kb_store_files") == 1, 30)
        assert len(store.files) == 1
        answer = await ask(e2e, USER, "How many days do parcels take to arrive in Moscow?")
        assert answer.text == ("Parcels arrive within three working days in Moscow.\n\n"
                               "Sources:\n[1] delivery.md")
        request = next(r for r in fm.requests if r.path == "/v1/responses")
        assert {"type": "file_search", "vector_store_ids": [store.id],
                "max_num_results": 5} in request.json["tools"]
        assert "NO_ANSWER_IN_SOURCES" in request.json["instructions"]
        refused = await ask(e2e, USER, "Who won the football world cup in 2018?")
        assert refused.text == "I could not find this in our knowledge base."
        assert await e2e.bot.terminate() == 0
