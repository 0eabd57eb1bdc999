"""`python -m bot run` with KB_PATH (strict mode) against the fake Telegram and Yandex servers:
cited answers with links, follow-ups, "not found" without a model call, edits picked up by a
sync, and a restart that embeds nothing again."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import E2E
from tests.features.knowledge.conftest import FIXTURE_KB, FIXTURE_MIN_SCORE

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]

USER = 5001
COMPLETION = "/foundationModels/v1/completion"
NOT_FOUND = "I could not find this in our knowledge base."
DELIVERY_URL = "https://help.northwind-shop.example/delivery"


def doc_embeddings(e2e: E2E) -> int:
    return sum(1 for r in e2e.fm.requests
               if r.path.endswith("textEmbedding") and "text-search-doc" in r.json["modelUri"])


def completions(e2e: E2E) -> int:
    return sum(1 for r in e2e.fm.requests if r.path == COMPLETION)


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


async def test_knowledge_base_answers_cite_abstain_follow_edits_and_survive_a_restart(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "documents"
    shutil.copytree(FIXTURE_KB, docs)
    env = {
        "KB_PATH": str(docs), "KB_MODE": "strict", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE),
        "EMBEDDING_RPS": "200", "ADMIN_USER_IDS": str(USER),
    }
    workdir = tmp_path / "run"
    workdir.mkdir()
    async with E2E(workdir, extra_env=env) as e2e:
        e2e.fm.quote_sources = True  # a grounded prompt is answered by quoting its source [1]
        await e2e.start_bot()
        await synced_runs(e2e, 1)
        first_sync = doc_embeddings(e2e)
        assert first_sync == e2e.db.count("kb_embeddings") > 33

        answer = await ask(e2e, "How long does standard delivery take?")
        assert answer.text.startswith("Standard delivery takes 2 to 4 working days")
        assert answer.text.endswith("Sources:\n[1] Delivery options and times")
        assert links(answer) == [DELIVERY_URL, DELIVERY_URL]  # the citation and the footer

        # PDF and DOCX documents are sources too, named with their section and page.
        bulk = await ask(e2e, "What discount do we get for 200 units?")
        assert bulk.text.startswith("The discount grows with the quantity")
        assert bulk.text.endswith(
            "Sources:\n[1] Corporate and bulk orders › Volume discounts › p. 1")

        # A follow-up that alone names nothing the documents cover finds the earlier topic.
        await ask(e2e, "Как вернуть товар?", language_code="ru")
        follow = await ask(e2e, "А сколько это займёт?", language_code="ru")
        assert "Источники:" in follow.text
        assert links(follow)[0] == "https://help.severny-market.example/vozvrat"

        calls = completions(e2e)
        refused = await ask(e2e, "Who won the football world cup in 2018?")
        assert refused.text == NOT_FOUND
        assert completions(e2e) == calls  # no model call

        shipping = docs / "shop" / "shipping.md"
        shipping.write_text(shipping.read_text(encoding="utf-8").replace(
            "2 to 4 working days", "1 to 2 working days"), encoding="utf-8")
        started = await ask(e2e, "/kb sync")
        assert started.text.startswith("Sync started")
        done = await e2e.wait_for(lambda: [m for m in e2e.tg.chat(USER).bot_messages
                                           if (m.text or "").startswith("Sync done")], 30)
        assert "(1 indexed, 0 removed)" in done[-1].text
        changed = await ask(e2e, "How long does standard delivery take?")
        assert changed.text.startswith("Standard delivery takes 1 to 2 working days")
        after_edit = doc_embeddings(e2e)
        assert after_edit == first_sync + 1

        status = await ask(e2e, "/kb")
        assert "39 documents" in status.text
        assert "Last sync: done" in status.text

        # SIGKILL only once every handled update is settled: one killed between its reply and
        # its settlement is replayed after the restart (at least once, by design), and its
        # second reply was taken for the next answer (seen once in the full suite under load).
        await e2e.wait_for(lambda: not e2e.db.query(
            "SELECT 1 FROM processed_updates WHERE payload IS NOT NULL"), 30)
        await e2e.restart_bot()
        await synced_runs(e2e, 3)
        again = await ask(e2e, "How long does standard delivery take?")
        assert again.text.startswith("Standard delivery takes 1 to 2 working days")
        assert doc_embeddings(e2e) == after_edit  # nothing embedded again after the restart
        assert await e2e.bot.terminate() == 0

    rows = e2e.db.query("SELECT covered, sources FROM kb_answers ORDER BY message_id")
    assert [row["covered"] for row in rows] == [1, 1, 1, 1, 0, 1, 1]
    assert e2e.db.check_consistency() == []


async def test_two_not_found_answers_hand_the_user_to_a_person(tmp_path: Path) -> None:
    """The knowledge base and the support desk together: in strict mode two questions in a
    row that the documents do not cover ("not found", no model call for the answers) open
    the user's topic in the support chat, with the reason on the card."""
    support = -1009876543210
    env = {
        "KB_PATH": str(FIXTURE_KB), "KB_MODE": "strict", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE),
        "EMBEDDING_RPS": "200", "SUPPORT_CHAT_ID": str(support),
    }
    workdir = tmp_path / "run"
    workdir.mkdir()
    async with E2E(workdir, extra_env=env) as e2e:
        e2e.tg.add_forum(support, "Support")
        await e2e.start_bot()
        await synced_runs(e2e, 1)
        first = await ask(e2e, "What is the capital of Australia?")
        assert first.text.startswith(NOT_FOUND)
        assert not e2e.tg.topics.get(support), "one miss is not a reason to hand over"
        second = await ask(e2e, "Can you recommend a good recipe for lasagne?")
        assert second.text.startswith(NOT_FOUND)
        assert completions(e2e) == 0, "strict mode answers 'not found' without the model"
        topics = await e2e.wait_for(lambda: list(e2e.tg.topics.get(support, {}).values()), 30)
        [topic] = topics
        [card] = await e2e.wait_for(
            lambda: e2e.tg.topic_messages(support, topic.thread_id), 30
        )
        assert card.text is not None
        assert "two answers in a row not found in the knowledge base" in card.text
        assert "capital of Australia" in card.text  # the last messages are on the card
        # The card shows what the user saw, never the model's marker (issue 27, item 5).
        assert f"🤖 {NOT_FOUND}" in card.text
        assert "NO_ANSWER_IN_SOURCES" not in card.text
