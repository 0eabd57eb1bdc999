"""The bot as `run` builds it with KB_PATH (strict mode), in the test's process, against the
fake Telegram and Yandex servers over loopback: a restart embeds nothing again and answers
from the index it loaded. Cited answers, follow-ups, "not found", edits picked up by /kb sync
and the handoff after two misses are tested through the kit:
tests/features/knowledge/test_knowledge_base.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import E2E
from tests.features.knowledge.conftest import FIXTURE_KB, FIXTURE_MIN_SCORE

pytestmark = [pytest.mark.timeout(180)]

USER = 5001
DELIVERY_URL = "https://help.northwind-shop.example/delivery"


def doc_embeddings(e2e: E2E) -> int:
    return sum(1 for r in e2e.fm.requests
               if r.path.endswith("textEmbedding") and "text-search-doc" in r.json["modelUri"])


def links(message: Any) -> list[str]:
    return [e["url"] for e in message.entities if e["type"] == "text_link"]


async def ask(e2e: E2E, text: str, **kwargs: Any) -> Any:
    chat = e2e.tg.chats.get(USER)
    before = len(chat.bot_messages) if chat is not None else 0
    e2e.tg.send_user_message(USER, text, **kwargs)
    messages = await e2e.wait_for(lambda: e2e.tg.chat(USER).bot_messages[before:], 30)
    return messages[-1]


async def synced_runs(e2e: E2E, count: int) -> None:
    """Until `count` syncs are done and the running bot searches what they indexed: a sync's
    run is stored done just before the bot reloads its vectors, and a question in between is
    answered from the index as it was (under load, "not found" for the first question)."""
    await e2e.wait_for(
        lambda: e2e.db.path.exists()
        and _table(e2e) and e2e.db.count("kb_sync_runs", "status = 'done'") >= count, 60,
    )
    await e2e.wait_for(lambda: _INDEX_LOADED.search(
        e2e.bot.log_text().rsplit("--- harness: start #", 1)[-1]), 30)


# Logged by the bot each time it loads its vectors (bot/features/knowledge/search.py), with
# passages.
_INDEX_LOADED = re.compile(r"knowledge base: [1-9][0-9]* passages in the vector index")


def _table(e2e: E2E) -> bool:
    return bool(e2e.db.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'kb_sync_runs'"))


async def test_a_restart_embeds_nothing_again(tmp_path: Path) -> None:
    docs = tmp_path / "documents"
    shutil.copytree(FIXTURE_KB, docs)
    env = {
        "KB_PATH": str(docs), "KB_MODE": "strict", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE),
        "EMBEDDING_RPS": "200", "ADMIN_USER_IDS": str(USER),
    }
    workdir = tmp_path / "run"
    workdir.mkdir()
    async with E2E(workdir, extra_env=env, in_process=True) as e2e:
        e2e.fm.quote_sources = True  # a grounded prompt is answered by quoting its source [1]
        await e2e.start_bot()
        await synced_runs(e2e, 1)
        first_sync = doc_embeddings(e2e)
        assert first_sync == e2e.db.count("kb_embeddings") > 33
        answer = await ask(e2e, "How long does standard delivery take?")
        assert answer.text.startswith("Standard delivery takes 2 to 4 working days")
        assert links(answer) == [DELIVERY_URL, DELIVERY_URL]

        # Restart only once every handled update is settled: one stopped between its reply and
        # its settlement is replayed after the restart (at least once, by design), and its
        # second reply was taken for the next answer (seen once in the full suite under load).
        await e2e.wait_for(lambda: not e2e.db.query(
            "SELECT 1 FROM processed_updates WHERE payload IS NOT NULL"), 30)
        await e2e.restart_bot()
        await synced_runs(e2e, 2)
        again = await ask(e2e, "How long does standard delivery take?")
        assert again.text.startswith("Standard delivery takes 2 to 4 working days")
        assert doc_embeddings(e2e) == first_sync  # nothing embedded again after the restart
        assert await e2e.bot.terminate() == 0

    rows = e2e.db.query("SELECT covered FROM kb_answers ORDER BY message_id")
    assert [row["covered"] for row in rows] == [1, 1]
    assert e2e.db.check_consistency() == []
