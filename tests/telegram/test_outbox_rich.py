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

from bot.telegram.outbox import Outbox, Pacing, RichFinal
from tests.telegram.recording_session import RecordingSession, Reply, make_bot

pytestmark = pytest.mark.looptime

SCALE = 0.05
PRIVATE, GROUP = 7, -1007
TABLE = "| a | b |\n|---|---|\n| 1 | 2 |"
RICH = {"markdown": TABLE}


def setup(**kwargs: Any) -> tuple[Outbox, RecordingSession]:
    session = RecordingSession()
    options: dict[str, Any] = {
        "private_interval": 1.05 * SCALE, "draft_interval": 1.0 * SCALE,
        "group_interval": 3.6 * SCALE, "global_rate": 30 / SCALE, "global_window": SCALE,
        "group_window": 60 * SCALE, "typing_interval": 4.5 * SCALE,
        "draft_keepalive": 20 * SCALE, "final_preview_after": 0.25 * SCALE,
        "retry_after_scale": SCALE, "backoff": 0.01,
    }
    return Outbox(make_bot(session), Pacing(**(options | kwargs))), session


def rich_final(refusals: list[str]) -> RichFinal:
    return RichFinal(RICH, refusals.append)


def methods(session: RecordingSession, *types: type) -> list[Any]:
    return [r.method for r in session.requests if isinstance(r.method, types)]


async def test_private_drafts_then_one_rich_message() -> None:
    outbox, session = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True, reply_to=5)
    handle.update("| a | b |\n|---|")
    await asyncio.sleep(0.2)
    refusals: list[str] = []
    ids = await handle.finish(TABLE, rich_final(refusals))
    assert methods(session, SendMessageDraft)
    (sent,) = methods(session, SendRichMessage)
    assert sent.rich_message.markdown == TABLE
    assert sent.reply_parameters.message_id == 5
    assert not methods(session, SendMessage)
    assert len(ids) == 1
    assert refusals == []
    await outbox.aclose()


async def test_group_rolled_over_stream_ends_as_one_rich_message() -> None:
    outbox, session = setup(text_limit=40)
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    text = " ".join(f"word{i}" for i in range(20))  # three messages of 40
    handle.update(text)
    await asyncio.sleep(1.5)
    shown = [r.reply.payload()["result"]["message_id"] for r in session.requests
             if isinstance(r.method, SendMessage)]
    assert len(shown) >= 2
    ids = await handle.finish(TABLE + "\n\n" + text, rich_final([]))
    rich_edits = [m for m in methods(session, EditMessageText) if m.rich_message is not None]
    assert [(m.message_id, m.rich_message.markdown) for m in rich_edits] == [(shown[0], TABLE)]
    deleted = [m.message_id for m in methods(session, DeleteMessage)]
    assert sorted(deleted) == sorted(shown[1:])
    assert ids == [shown[0]]
    assert not methods(session, SendRichMessage)
    await outbox.aclose()


@pytest.mark.parametrize("chat", [PRIVATE, GROUP])
async def test_a_refusal_delivers_the_text_in_the_same_stream(chat: int) -> None:
    outbox, session = setup()
    refused = Reply.error(400, "Bad Request: RICH_MESSAGE_FORBIDDEN")
    session.add_reply(refused, SendRichMessage)
    session.add_reply(refused, EditMessageText)  # only the rich edit comes before the text
    handle = outbox.stream(chat, "private" if chat > 0 else "supergroup", draft=True)
    handle.update("Here | a")
    await asyncio.sleep(0.5)
    refusals: list[str] = []
    ids = await handle.finish(TABLE, rich_final(refusals))
    assert len(refusals) == 1
    assert "RICH_MESSAGE_FORBIDDEN" in refusals[0]
    texts = [m for m in methods(session, SendMessage, EditMessageText) if m.text]
    assert texts[-1].text.startswith("a")  # today's rendering: the aligned table
    assert len(methods(session, SendMessage)) == 1  # one answer, never two
    assert len(ids) == 1
    await outbox.aclose()


async def test_a_server_error_outlasting_the_retries_is_no_refusal() -> None:
    outbox, session = setup(max_attempts=2)
    for _ in range(3):
        session.add_reply(Reply.error(502, "Bad Gateway"), SendRichMessage)
    handle = outbox.stream(PRIVATE, "private", draft=True)
    refusals: list[str] = []
    ids = await handle.finish(TABLE, rich_final(refusals))
    assert len(methods(session, SendRichMessage)) == 3
    assert len(methods(session, SendMessage)) == 1  # the text went instead
    assert refusals == []
    assert len(ids) == 1
    await outbox.aclose()


def table_frames(markdown: str) -> dict[str, Any] | None:
    return {"markdown": markdown} if "|---|" in markdown else None


async def test_drafts_turn_rich_once_the_frame_holds_a_table() -> None:
    outbox, session = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True)
    handle.rich_frames = table_frames
    handle.update("Intro")
    await asyncio.sleep(0.2)
    handle.update("Intro\n\n| a | b |\n|---|---|")
    await asyncio.sleep(0.2)
    await handle.finish(TABLE, rich_final([]))
    texts = [m.text for m in methods(session, SendMessageDraft) if m.text]
    assert texts == ["Intro"]
    (rich_draft,) = methods(session, SendRichMessageDraft)
    assert rich_draft.rich_message.markdown == "Intro\n\n| a | b |\n|---|---|"
    assert rich_draft.draft_id == methods(session, SendMessageDraft)[0].draft_id
    assert len(methods(session, SendRichMessage)) == 1
    await outbox.aclose()


async def test_a_refused_rich_draft_goes_on_as_text_drafts() -> None:
    outbox, session = setup()
    session.add_reply(Reply.error(400, "Bad Request: RICH_MESSAGE_FORBIDDEN"),
                      SendRichMessageDraft)
    handle = outbox.stream(PRIVATE, "private", draft=True)
    handle.rich_frames = table_frames
    handle.update("Intro\n\n| a | b |\n|---|---|")
    await asyncio.sleep(0.3)
    assert len(methods(session, SendRichMessageDraft)) == 1
    assert [m.text for m in methods(session, SendMessageDraft) if m.text]  # shown as text
    assert not outbox.drafts_refused(PRIVATE)
    await handle.finish(TABLE)
    await outbox.aclose()
