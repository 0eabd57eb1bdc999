"""The outbox's rich final (richfinal.py): `sendRichMessage` after a private chat's drafts, the
streamed message of a group edited into the rich message (and its rolled-over parts deleted),
and a refusal that delivers the rendered text in the same stream, told to the caller once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.methods import (
    DeleteMessage,
    EditMessageText,
    SendMessage,
    SendMessageDraft,
    SendRichMessage,
    SendRichMessageDraft,
)

from bot.telegram.outbox import RichFinal
from tests.telegram.test_outbox import GROUP, PRIVATE, setup

pytestmark = pytest.mark.looptime

TABLE = "| a | b |\n|---|---|\n| 1 | 2 |"
RICH = {"markdown": TABLE}


def rich_final(refusals: list[str]) -> RichFinal:
    return RichFinal(RICH, refusals.append)


async def test_private_drafts_then_one_rich_message() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True, reply_to=5)
    handle.update("| a | b |\n|---|")
    await asyncio.sleep(0.2)
    refusals: list[str] = []
    ids = await handle.finish(TABLE, rich_final(refusals))
    assert telegram.calls(SendMessageDraft)
    (sent,) = telegram.calls(SendRichMessage)
    assert sent.rich_message.markdown == TABLE
    assert sent.reply_parameters.message_id == 5
    assert not telegram.calls(SendMessage)
    assert len(ids) == 1
    assert refusals == []
    await outbox.aclose()


async def test_group_rolled_over_stream_ends_as_one_rich_message() -> None:
    outbox, telegram = setup(text_limit=40)
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    text = " ".join(f"word{i}" for i in range(20))  # three messages of 40
    handle.update(text)
    await asyncio.sleep(1.5)
    shown = [message_id for chat, message_id in telegram.created if chat == GROUP]
    assert len(shown) >= 2
    ids = await handle.finish(TABLE + "\n\n" + text, rich_final([]))
    rich_edits = [m for m in telegram.calls(EditMessageText) if m.rich_message is not None]
    assert [(m.message_id, m.rich_message.markdown) for m in rich_edits] == [(shown[0], TABLE)]
    deleted = [m.message_id for m in telegram.calls(DeleteMessage)]
    assert sorted(deleted) == sorted(shown[1:])
    assert ids == [shown[0]]
    assert not telegram.calls(SendRichMessage)
    await outbox.aclose()


@pytest.mark.parametrize("chat", [PRIVATE, GROUP])
async def test_a_refusal_delivers_the_text_in_the_same_stream(chat: int) -> None:
    outbox, telegram = setup()
    telegram.refuse_rich = True  # Telegram's RICH_MESSAGE_FORBIDDEN, for a send or an edit
    handle = outbox.stream(chat, "private" if chat > 0 else "supergroup", draft=True)
    handle.update("Here | a")
    await asyncio.sleep(0.5)
    refusals: list[str] = []
    ids = await handle.finish(TABLE, rich_final(refusals))
    assert len(refusals) == 1
    assert "RICH_MESSAGE_FORBIDDEN" in refusals[0]
    texts = [m for m in telegram.calls(SendMessage, EditMessageText) if m.text]
    assert texts[-1].text.startswith("a")  # today's rendering: the aligned table
    assert len(telegram.calls(SendMessage)) == 1  # one answer, never two
    assert len(ids) == 1
    await outbox.aclose()


async def test_a_server_error_outlasting_the_retries_is_no_refusal() -> None:
    outbox, telegram = setup(max_attempts=2)
    telegram.fail_next("sendRichMessage", 502, "Bad Gateway", times=3)
    handle = outbox.stream(PRIVATE, "private", draft=True)
    refusals: list[str] = []
    ids = await handle.finish(TABLE, rich_final(refusals))
    assert len(telegram.calls(SendRichMessage)) == 3
    assert len(telegram.calls(SendMessage)) == 1  # the text went instead
    assert refusals == []
    assert len(ids) == 1
    await outbox.aclose()


def table_frames(markdown: str) -> dict[str, Any] | None:
    return {"markdown": markdown} if "|---|" in markdown else None


async def test_drafts_turn_rich_once_the_frame_holds_a_table() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True)
    handle.rich_frames = table_frames
    handle.update("Intro")
    await asyncio.sleep(0.2)
    handle.update("Intro\n\n| a | b |\n|---|---|")
    await asyncio.sleep(0.2)
    await handle.finish(TABLE, rich_final([]))
    texts = [m.text for m in telegram.calls(SendMessageDraft) if m.text]
    assert texts == ["Intro"]
    (rich_draft,) = telegram.calls(SendRichMessageDraft)
    assert rich_draft.rich_message.markdown == "Intro\n\n| a | b |\n|---|---|"
    assert rich_draft.draft_id == telegram.calls(SendMessageDraft)[0].draft_id
    assert len(telegram.calls(SendRichMessage)) == 1
    await outbox.aclose()


async def test_a_refused_rich_draft_goes_on_as_text_drafts() -> None:
    outbox, telegram = setup()
    telegram.fail_next("sendRichMessageDraft", 400, "Bad Request: RICH_MESSAGE_FORBIDDEN")
    handle = outbox.stream(PRIVATE, "private", draft=True)
    handle.rich_frames = table_frames
    handle.update("Intro\n\n| a | b |\n|---|---|")
    await asyncio.sleep(0.3)
    assert len(telegram.calls(SendRichMessageDraft)) == 1
    assert [m.text for m in telegram.calls(SendMessageDraft) if m.text]  # shown as text
    assert not outbox.drafts_refused(PRIVATE)
    await handle.finish(TABLE)
    await outbox.aclose()
