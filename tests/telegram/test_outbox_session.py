"""The recording session and chat simulator answer as the Bot API does for the outbox."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import (
    DeleteMessage,
    EditMessageText,
    SendChatAction,
    SendMessage,
    SendMessageDraft,
)
from aiogram.types import Message, MessageEntity

from tests.telegram.recording_session import (
    ChatSimulator,
    RecordingSession,
    Reply,
    expected,
    make_bot,
    setup,
)
from tests.telegram.test_outbox import GROUP, PRIVATE

# Pacing on looptime's virtual clock: exact, and the same on a busy machine.
pytestmark = pytest.mark.looptime


async def test_queued_replies_are_fifo_per_method_and_raise_real_errors() -> None:
    session = RecordingSession()
    bot = make_bot(session)
    session.add_reply(Reply.flood(retry_after=7), SendMessage)
    session.add_reply(Reply.error(400, "Bad Request: first"), SendMessage)
    session.add_reply(Reply.error(403, "Forbidden: bot was blocked by the user"))
    # The untyped 403 is for the next request of any type; SendMessage replies keep order.
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(1, "a")
    assert flood.value.retry_after == 7
    with pytest.raises(TelegramBadRequest, match="first"):
        await bot.send_message(1, "b")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(1, "typing")
    message = await bot.send_message(1, "c")
    assert isinstance(message, Message)
    assert message.text == "c"
    assert await bot.send_chat_action(1, "typing") is True
    assert [type(r.method) for r in session.requests] == [
        SendMessage,
        SendMessage,
        SendChatAction,
        SendMessage,
        SendChatAction,
    ]
    assert bot._me is not None  # getMe never needed


async def test_simulator_answers_like_telegram() -> None:
    sim = ChatSimulator(private_interval=0, group_interval=0)
    bot = make_bot(RecordingSession(sim))
    sent = await bot.send_message(
        GROUP, "hello", entities=[MessageEntity(type="bold", offset=0, length=5)]
    )
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text(
            "hello",
            chat_id=GROUP,
            message_id=sent.message_id,
            entities=[MessageEntity(type="bold", offset=0, length=5)],
        )
    await bot.edit_message_text("hello!", chat_id=GROUP, message_id=sent.message_id)
    assert [s.text for s in sim.visible(GROUP)] == ["hello!"]
    with pytest.raises(TelegramBadRequest, match="to edit not found"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=999)
    with pytest.raises(TelegramBadRequest, match="too long"):
        await bot.send_message(GROUP, "😀" * 2049)  # 4098 UTF-16 units
    with pytest.raises(TelegramBadRequest, match="UTF-16 offset 3"):
        await bot.send_message(
            GROUP, "abcd", entities=[MessageEntity(type="bold", offset=3, length=2)]
        )
    with pytest.raises(TelegramBadRequest, match="private"):
        await bot(SendMessageDraft(chat_id=GROUP, draft_id=1, text="x"))
    assert await bot(SendMessageDraft(chat_id=PRIVATE, draft_id=1, text="")) is True
    assert await bot(DeleteMessage(chat_id=GROUP, message_id=sent.message_id)) is True
    assert sim.visible(GROUP) == []


async def test_simulator_enforces_flood_limits() -> None:
    sim = ChatSimulator(time_scale=0.05)
    bot = make_bot(RecordingSession(sim))
    for i in range(20):  # a group: 20 per "minute" (3 s here)
        await bot.send_message(GROUP, f"message {i}")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(GROUP, "one too many")
    await bot.send_chat_action(GROUP, "typing")  # chat actions are not messages
    for text in ("burst 1", "burst 2", "burst 3"):  # a private chat: a burst of three ...
        await bot.send_message(PRIVATE, text)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(PRIVATE, "one too many")
    for i in range(5):  # drafts have a budget of their own: a burst of five ...
        await bot.send_message_draft(PRIVATE, draft_id=1, text=f"draft {i}")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message_draft(PRIVATE, draft_id=1, text="one too many")
    await asyncio.sleep(1.05 * 0.05)  # ... then one message per second
    await bot.send_message(PRIVATE, "after a second")
    assert sim.violations == [
        ("chat", GROUP, "SendMessage"),
        ("chat", PRIVATE, "SendMessage"),
        ("draft", PRIVATE, "SendMessageDraft"),
    ]
    for i in range(40):  # 30 per 50 ms for the whole bot
        try:
            await bot.send_chat_action(i + 1, "typing")
        except TelegramRetryAfter:
            break
    assert sim.violations[-1][0] == "global"


async def test_final_shorter_than_the_stream_deletes_extra_messages() -> None:
    outbox, session, sim = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    handle.update("long draft " * 800)  # ~8,800 characters: three messages
    await asyncio.sleep(0.6)
    assert len(sim.visible(GROUP)) == 3
    ids = await handle.finish("Short revised answer.")  # the model revised its text
    assert sim.visible(GROUP) == expected("Short revised answer.")
    assert len(ids) == 1
    assert len(session.calls(DeleteMessage)) == 2


async def test_lost_middle_message_keeps_parts_in_order() -> None:
    outbox, session, sim = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    first = "\n\n".join(f"para {i} " + "word " * 300 for i in range(5))
    handle.update(first)
    await asyncio.sleep(0.5)
    shown = sorted(sim.messages[GROUP])
    assert len(shown) == 3
    del sim.messages[GROUP][shown[0]]  # the user deleted the first part
    final = first.replace("para 0", "PARA 0") + "\n\nthe end"
    await handle.finish(final)
    assert sim.visible(GROUP) == expected(final)  # in order, nothing duplicated
    assert len(session.calls(DeleteMessage)) == 2  # the later parts, re-sent after the first
    assert session.calls(EditMessageText)
