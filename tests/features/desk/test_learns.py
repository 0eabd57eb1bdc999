"""The desk learns from what operators answered, in process: a handoff's card is edited with
its summary and tags (asked in Yandex's asynchronous mode, JSON schema); an operator answers
and closes; a FAQ draft appears in the support chat's "Knowledge base" topic; Approve writes
it to the KB folder; once indexed, another user's same question is answered from it with a
citation, without a handoff. Was tests/e2e/test_desk_learns.py, with the bot as a process
(which keeps a restart while a summary is pending)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from aiogram.types import Chat, Message, Update

from bot import App
from bot.features.knowledge.base import KnowledgeBase
from bot.testing import BotTester, ServiceModel, TestUser
from tests.features.knowledge.conftest import FIXTURE_KB, FIXTURE_MIN_SCORE
from tests.features.sending import rows, shown, until

pytestmark = [pytest.mark.timeout(120)]

SUPPORT = -1001234567890
QUESTION = "Do you sell spare parts for kettles?"
ANSWER = ("Spare parts for our own kettles are sold in the Parts section of the site; for other "
          "brands please contact the maker.")
NOT_FOUND = "I could not find this in our knowledge base."


async def operator_says(tester: BotTester, operator: TestUser, thread: int, text: str) -> int:
    """`operator` writes `text` in the topic `thread`; the message's id."""
    chat = Chat(id=SUPPORT, type="supergroup", title="Support", is_forum=True)
    message_id = tester.telegram.next_message_id(SUPPORT)
    update = Update(update_id=tester.next_update_id(), message=Message(
        message_id=message_id, date=dt.datetime.now(dt.UTC), chat=chat,
        from_user=operator.telegram_user(), text=text, message_thread_id=thread,
        is_topic_message=True))
    await tester.exchange(SUPPORT, update)
    return message_id


def thread_of(tester: BotTester, name: str) -> int | None:
    """The thread id Telegram gave the topic whose name contains `name`."""
    for index, call in enumerate(tester.sent):
        if call.method == "createForumTopic" and name in str(call.params.get("name")):
            answered = [c for c in tester.sent[index + 1:]
                        if c.chat_id == SUPPORT and c.params.get("message_thread_id")]
            if answered:
                return int(answered[0].params["message_thread_id"])
    return None


@pytest.mark.slow
async def test_the_desk_learns_from_what_operators_answered(tmp_path: Path) -> None:
    docs = tmp_path / "documents"
    shutil.copytree(FIXTURE_KB, docs)
    model = ServiceModel()
    model.service.quote_sources = True
    model.service.text_pending_polls = 1  # each job is polled once before it is done
    settings = {"SUPPORT_CHAT_ID": str(SUPPORT), "CSAT": "off", "KB_PATH": docs,
                "KB_MODE": "strict", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE),
                "EMBEDDING_RPS": "200"}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        asker, other, olga = tester.user("Asker"), tester.user("Other"), tester.user("Olga")
        tester.telegram.set_member(SUPPORT, olga.id, "member")

        # The knowledge base does not know; the user asks for a person.
        assert (await asker.says(QUESTION)).text == NOT_FOUND
        await asker.says("/operator")
        thread = thread_of(tester, f"· {asker.id}")
        assert thread is not None
        card = next(m for m in shown(tester, SUPPORT) if m.text)
        edits = await until(tester, lambda: [
            c.params["text"] for c in tester.sent if c.method == "editMessageText"
            and c.chat_id == SUPPORT and c.params.get("message_id") == card.message_id], 60)
        assert f"Problem: {QUESTION}" in edits[0]
        assert "Tags: intent" in edits[0]
        assert "language en (0.95)" in edits[0]

        # The operator answers and closes; a draft comes to the "Knowledge base" topic.
        answered = await operator_says(tester, olga, thread, ANSWER)
        relayed = [c for c in tester.sent if c.method == "copyMessage" and c.chat_id == asker.id]
        assert [(int(c.params["from_chat_id"]), c.params["message_id"]) for c in relayed] == \
            [(SUPPORT, answered)], "the operator's answer reached the user"
        await operator_says(tester, olga, thread, "/close")
        review = await until(tester, lambda: thread_of(tester, "Knowledge base"), 60)
        draft = await until(tester, lambda: next(
            (m for m in shown(tester, SUPPORT) if f"Q: {QUESTION}" in m.text), None), 60)
        [posting] = [c for c in tester.sent if c.chat_id == SUPPORT
                     and f"Q: {QUESTION}" in str(c.params.get("text"))]
        assert posting.params["message_thread_id"] == review, "in the Knowledge base topic"
        assert not (docs / "faq-from-desk.jsonl").exists()  # not before a person approves

        await olga.presses(draft.button_texts()[0], on=draft)
        written = (docs / "faq-from-desk.jsonl").read_text("utf-8")
        assert [json.loads(line) for line in written.splitlines()] == [
            {"question": QUESTION, "answer": ANSWER}]
        knowledge = tester.built.core.built.find(KnowledgeBase)
        assert knowledge is not None
        await knowledge.sync()  # what KB_SYNC_INTERVAL does in `run`
        assert await rows(tester, "SELECT path FROM kb_documents WHERE "
                                  "path = 'faq-from-desk.jsonl'")

        # Another user asks the same: answered from the approved entry, cited, no handoff.
        made = len([c for c in tester.sent if c.method == "createForumTopic"])
        answer = await other.says(QUESTION)
        assert answer.text != NOT_FOUND
        assert "Spare parts for our own kettles are sold in the Parts section" in answer.text
        assert "\n\nSources:\n[1] " in answer.text  # cited (the fake quotes source 1)
        assert len([c for c in tester.sent if c.method == "createForumTopic"]) == made
