"""Outbox under Bot API failures: 429, not modified, deleted messages, blocked users, 5xx."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    DeleteMessage,
    EditMessageText,
    SendChatAction,
    SendMessage,
    SendMessageDraft,
)

from bot.telegram.outbox import ChatUnreachableError
from bot.telegram.render import RenderedText
from bot.testing.telegram.flood import loop_clock
from tests.telegram.test_outbox import GROUP, PRIVATE, SCALE, expected, setup, shown

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)

# Pacing on looptime's virtual clock: exact, and the same on a busy machine.
pytestmark = pytest.mark.looptime


async def test_retry_after_pauses_the_whole_chat() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    telegram.fail_next("sendMessage", 429, retry_after=4)  # 4 s -> 0.2 s scaled
    handle.update("first")
    await asyncio.sleep(0.01)
    flood_at = telegram.sent[-1].at
    assert telegram.sent[-1].status == 429
    # Everything for this chat waits: the frame and a plain call made meanwhile.
    photo_like = asyncio.create_task(
        outbox.call(GROUP, SendChatAction(chat_id=GROUP, action="upload_photo"))
    )
    await handle.finish("first and final")
    await photo_like
    after = [r for r in telegram.sent if r.at > flood_at]
    assert after
    assert all(r.at - flood_at >= 4 * SCALE * 0.95 for r in after)
    assert shown(telegram, GROUP) == expected("first and final")


async def test_final_is_delivered_through_repeated_floods() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True)
    telegram.fail_next("sendMessage", 429, retry_after=1, times=3)
    ids = await handle.finish("must arrive")
    assert len(ids) == 1
    assert shown(telegram, PRIVATE) == expected("must arrive")
    assert len(telegram.calls(SendMessage)) == 4


async def test_not_modified_counts_as_success() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    handle.update("one")
    await asyncio.sleep(0.05)
    telegram.fail_next("editMessageText", 400, NOT_MODIFIED)
    handle.update("one two")
    await asyncio.sleep(0.3)
    edits_before = len(telegram.calls(EditMessageText))
    ids = await handle.finish("one two")  # already "shown": nothing more to send
    assert len(telegram.calls(EditMessageText)) == edits_before
    assert len(ids) == 1
    assert len(telegram.calls(SendMessage)) == 1


async def test_message_deleted_by_user_is_sent_again() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    handle.update("before")
    await asyncio.sleep(0.05)
    for message in telegram.chat(GROUP).bot_messages:  # the user deleted the message
        telegram.state.delete_message(GROUP, message.message_id)
    ids = await handle.finish("after the deletion")
    assert shown(telegram, GROUP) == expected("after the deletion")
    assert len(telegram.calls(SendMessage)) == 2
    assert ids == [max(m.message_id for m in telegram.chat(GROUP).bot_messages)]


async def test_blocked_user_stops_the_stream_quietly() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    handle.update("hello")
    await asyncio.sleep(0.05)
    telegram.block_user(GROUP)
    handle.update("hello again")
    await asyncio.sleep(0.3)
    assert handle.closed
    assert isinstance(handle.error, ChatUnreachableError)
    count = len(telegram.sent)
    handle.update("ignored")
    with pytest.raises(ChatUnreachableError, match="blocked"):
        await handle.finish("never shown")
    await asyncio.sleep(0.2)
    assert len(telegram.sent) == count
    with pytest.raises(ChatUnreachableError):
        await outbox.send_text(GROUP, "still blocked")


async def test_drafts_refused_fall_back_to_edits_and_are_remembered() -> None:
    outbox, telegram = setup()
    telegram.fail_next("sendMessageDraft", 400, "Bad Request: method not available")
    handle = outbox.stream(PRIVATE, "private", draft=True)
    final = "streamed " * 10
    await asyncio.sleep(0.05)  # the model is thinking
    for i in range(10):
        handle.update("streamed " * (i + 1))
        await asyncio.sleep(0.02)
    await handle.finish(final)
    assert outbox.drafts_refused(PRIVATE)
    assert len(telegram.calls(SendMessageDraft)) == 1
    assert telegram.calls(SendChatAction)  # typing while no message is shown
    assert telegram.calls(EditMessageText)
    assert shown(telegram, PRIVATE) == expected(final)
    second = outbox.stream(PRIVATE, "private", draft=True)
    assert not second.uses_draft
    await second.finish("second")
    assert len(telegram.calls(SendMessageDraft)) == 1


async def test_refused_entities_are_resent_as_plain_text() -> None:
    outbox, telegram = setup()
    telegram.fail_next("sendMessage", 400, "Bad Request: can't parse entities: unsupported")
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    await handle.finish("**bold** text")
    first, second = telegram.calls(SendMessage)
    assert first.entities
    assert second.entities is None
    assert shown(telegram, GROUP)[0][0] == "bold text"


async def test_transient_server_errors_are_retried() -> None:
    outbox, telegram = setup()
    telegram.fail_next("sendMessage", 502, "Bad Gateway")
    telegram.fail_next("sendMessage", 500, "Internal Server Error")
    ids = await outbox.send_text(PRIVATE, "eventually")
    assert len(ids) == 1
    assert len(telegram.calls(SendMessage)) == 3


async def test_final_fails_clearly_after_persistent_errors() -> None:
    outbox, telegram = setup(max_attempts=2)
    telegram.fail_next("sendMessage", 500, "Internal Server Error", times=5)
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    with pytest.raises(Exception, match="failed"):
        await handle.finish("x")


async def test_fail_keeps_partial_answer_and_adds_a_notice() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True, reply_to=9)
    handle.update("The answer so **far**")
    await asyncio.sleep(0.05)
    ids = await handle.fail("⚠️ The model timed out.")
    assert len(ids) == 2
    assert shown(telegram, PRIVATE) == [
        *expected("The answer so **far**"),
        *expected("⚠️ The model timed out."),
    ]
    sends = telegram.calls(SendMessage)
    assert sends[0].reply_parameters.message_id == 9
    assert sends[1].reply_parameters is None


async def test_fail_without_partial() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    assert len(await handle.fail("Quota exhausted.", partial_markdown="")) == 1
    assert [text for text, _ in shown(telegram, GROUP)] == ["Quota exhausted."]


async def test_send_text_and_paced_calls() -> None:
    outbox, telegram = setup()
    long = "x" * 5000
    ids = await outbox.send_text(GROUP, long)
    assert [text for text, _ in shown(telegram, GROUP)] == ["x" * 4096, "x" * 904]
    ids2 = await outbox.send_text(GROUP, RenderedText("**not markdown**"), reply_to=ids[0])
    assert shown(telegram, GROUP)[-1][0] == "**not markdown**"
    assert await outbox.call(GROUP, DeleteMessage(chat_id=GROUP, message_id=ids2[0])) is True
    with pytest.raises(TelegramBadRequest, match="not found"):
        await outbox.call(GROUP, DeleteMessage(chat_id=GROUP, message_id=424242))
    heavy = [r.at for r in telegram.sent if r.method != "sendChatAction"]
    gaps = [b - a for a, b in itertools.pairwise(heavy)]
    # a group's bucket holds three calls; after that burst, one call per group interval
    assert max(gaps[:2]) < 3.6 * SCALE * 0.5
    # (measured where calls arrive: a call that arrives late by a loaded loop's lag shortens
    # the gap after it, though the chat's budget spaced them right)
    assert min(gaps[2:]) >= 3.6 * SCALE * 0.85
    assert telegram.flood.refused == []


async def test_closed_outbox_refuses_work() -> None:
    outbox, _ = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    handle.update("pending")
    await outbox.aclose()
    with pytest.raises(Exception, match="closed"):
        await handle.finish("too late")
    with pytest.raises(Exception, match="closed"):
        outbox.stream(GROUP, "supergroup", draft=False)
    start = loop_clock()
    with pytest.raises(Exception, match="closed"):
        await outbox.send_text(GROUP, "late")
    assert loop_clock() - start < 0.1
