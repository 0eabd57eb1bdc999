"""Rich answers end to end (Bot API 10.1): the bot run in the test's process (`async with App`,
tests/e2e/inprocess.py) against the fake Telegram
(bot/testing/telegram/rich.py) and the fake Yandex server, the model's answers scripted. A table
answer arrives as a rich message with a table block: after the drafts in a private chat
(`sendRichMessage`), as the streamed message edited into it in a group (`editMessageText` with
`rich_message`). A plain answer arrives as today. Telegram refusing rich messages: the answer
arrives as today's text, one warning is logged, and the next table answer does not try again.
`RICH_MESSAGES=off`: today's behaviour."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.testing.telegram.rich import REFUSED, plain_text, table_of, urls_of
from tests.e2e.harness import E2E
from tests.e2e.test_knowledge_base import DELIVERY_URL, synced_runs
from tests.features.knowledge.conftest import FIXTURE_KB, FIXTURE_MIN_SCORE

pytestmark = [pytest.mark.timeout(180)]

USER = 6101
GROUP = -1006102
TABLE = (
    "Here are the plans:\n\n"
    "| Plan | Price |\n"
    "|------|------:|\n"
    "| Basic | 5 EUR |\n"
    "| **Pro** | 10 EUR |\n\n"
    "Pick one."
)
CELLS = [["Plan", "Price"], ["Basic", "5 EUR"], ["Pro", "10 EUR"]]


def calls(e2e: E2E, method: str, chat_id: int) -> list[Any]:
    return [c for c in e2e.tg.calls if c.method == method and c.chat_id == chat_id]


async def answer(e2e: E2E, chat_id: int, text: str, **kwargs: Any) -> Any:
    """Send `text`; the bot's first new message (in a private chat the final one: drafts are
    no messages)."""
    chat = e2e.tg.chats.get(chat_id)
    before = len(chat.bot_messages) if chat is not None else 0
    e2e.tg.send_user_message(chat_id, text, **kwargs)
    new = await e2e.wait_for(lambda: e2e.tg.chat(chat_id).bot_messages[before:], 30)
    return new[0]


async def test_private_table_answer_arrives_as_a_rich_message_and_plain_stays_text(
    tmp_path: Path,
) -> None:
    async with E2E(tmp_path, in_process=True) as e2e:
        e2e.fm.queue_reply(TABLE, chunks=5, interval=0.3)
        await e2e.start_bot()
        # The rich final goes through the outbox: a 429 and a 5xx are waited out and retried.
        e2e.tg.fail_next("sendRichMessage", 429, retry_after=1)
        e2e.tg.fail_next("sendRichMessage", 502, "Bad Gateway")
        rich = await answer(e2e, USER, "compare the plans")
        chat = e2e.tg.chat(USER)
        assert table_of(rich.rich) == CELLS
        assert rich.rich["blocks"][0] == {"type": "paragraph", "text": "Here are the plans:"}
        assert chat.drafts, "the answer streamed as drafts first"
        # Drafts are text until the frame holds a table, then rich drafts showing it.
        assert chat.drafts[-1].rich is not None
        assert table_of(chat.drafts[-1].rich) is not None
        assert any(d.rich is None and d.text for d in chat.drafts)
        assert len(chat.bot_messages) == 1
        assert [c.status for c in calls(e2e, "sendRichMessage", USER)] == [429, 502, 200]
        assert not calls(e2e, "sendMessage", USER)
        assert not [r for r in e2e.bot.log_records() if "refused a rich" in r.get("message", "")]

        e2e.fm.queue_reply("Just **plain** text, with `code`.", chunks=3, interval=0.2)
        plain = await answer(e2e, USER, "and now?")
        assert plain.rich is None
        assert plain.text == "Just plain text, with code."
        assert [e["type"] for e in plain.entities] == ["bold", "code"]
        assert len(calls(e2e, "sendRichMessage", USER)) == 3
        assert len(calls(e2e, "sendMessage", USER)) == 1


async def test_group_streamed_message_is_edited_into_a_rich_message(tmp_path: Path) -> None:
    async with E2E(tmp_path, in_process=True) as e2e:
        e2e.fm.queue_reply(TABLE, chunks=6, interval=0.5)
        await e2e.start_bot()
        message = await answer(e2e, GROUP, "@fm_test_bot compare the plans",
                               chat_type="supergroup", title="Team", user={"id": 6103})
        await e2e.wait_for(lambda: message.rich is not None, 30)
        chat = e2e.tg.chat(GROUP)
        assert len(chat.bot_messages) == 1
        assert table_of(message.rich) == CELLS
        assert len(message.versions) >= 2, "streamed by edits before it became rich"
        assert message.versions[0].text != message.text
        rich_edits = [c for c in calls(e2e, "editMessageText", GROUP)
                      if "rich_message" in c.params]
        assert len(rich_edits) == 1
        assert not calls(e2e, "sendRichMessage", GROUP)


async def test_refused_rich_message_falls_back_to_text_once_and_is_remembered(
    tmp_path: Path,
) -> None:
    async with E2E(tmp_path, in_process=True) as e2e:
        e2e.tg.refuse_rich = True
        e2e.fm.queue_reply(TABLE, chunks=4, interval=0.2)
        e2e.fm.queue_reply(TABLE.replace("Basic", "Start"), chunks=4, interval=0.2)
        await e2e.start_bot()
        first = await answer(e2e, USER, "compare the plans")
        assert first.rich is None
        assert "Plan" in (first.text or "")
        assert "10 EUR" in (first.text or "")
        assert "pre" in [e["type"] for e in first.entities]  # today's aligned table
        refused = calls(e2e, "sendRichMessage", USER)
        assert len(refused) == 1
        assert REFUSED in (refused[0].description or "")
        assert all(d.rich is None for d in e2e.tg.chat(USER).drafts)  # refused: text drafts
        assert len(e2e.tg.chat(USER).bot_messages) == 1  # no lost answer, no duplicate

        second = await answer(e2e, USER, "once more")
        assert second.rich is None
        assert "Start" in (second.text or "")
        assert len(calls(e2e, "sendRichMessage", USER)) == 1, "the refusal is remembered"
        assert len(e2e.tg.chat(USER).bot_messages) == 2
        warnings = [r for r in e2e.bot.log_records()
                    if r.get("level") == "WARNING" and "rich message" in r.get("message", "")]
        assert len(warnings) == 1, warnings


async def test_rich_messages_off_keeps_todays_text(tmp_path: Path) -> None:
    async with E2E(tmp_path, extra_env={"RICH_MESSAGES": "off"}, in_process=True) as e2e:
        e2e.fm.queue_reply(TABLE, chunks=4, interval=0.2)
        await e2e.start_bot()
        message = await answer(e2e, USER, "compare the plans")
        assert message.rich is None
        assert "pre" in [e["type"] for e in message.entities]
        assert not calls(e2e, "sendRichMessage", USER)
        assert not [c for c in e2e.tg.calls if "rich_message" in c.params]
        assert all(d.rich is None for d in e2e.tg.chat(USER).drafts)


async def test_grounded_table_answer_keeps_its_source_links(tmp_path: Path) -> None:
    docs = tmp_path / "documents"
    shutil.copytree(FIXTURE_KB, docs)
    env = {"KB_PATH": str(docs), "KB_MODE": "strict", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE),
           "EMBEDDING_RPS": "200"}
    workdir = tmp_path / "run"
    workdir.mkdir()
    async with E2E(workdir, extra_env=env, in_process=True) as e2e:
        await e2e.start_bot()
        await synced_runs(e2e, 1)
        e2e.fm.queue_reply(
            "| Option | Working days |\n|---|---|\n| Standard | 2 to 4 [1] |", chunks=3,
            interval=0.2,
        )
        message = await answer(e2e, USER, "How long does standard delivery take?")
        assert table_of(message.rich) == [["Option", "Working days"], ["Standard", "2 to 4 [1]"]]
        assert urls_of(message.rich) == [DELIVERY_URL, DELIVERY_URL]  # the citation, the footer
        assert plain_text(message.rich).endswith("Sources:\n[1] Delivery options and times")
