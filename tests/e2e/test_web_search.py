"""`python -m bot run` on the Responses wire with KB_BACKEND=yandex, against the fake Telegram
and Yandex servers: `run` syncs KB_PATH into a vector store at start, and strict file search
answers from it or "not found" when the store has nothing relevant. (BotTester does not sync a
Yandex store; web search is tested in process: tests/features/websearch.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import E2E

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
