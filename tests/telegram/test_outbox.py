"""Outbox streaming through a real aiogram Bot on the kit's fake Telegram (`FakeTelegram`).

Intervals are scaled down 20x (private 50 ms, group 150 ms, bot 30 per 50 ms); the fake
enforces Telegram's limits on the same scale (`FloodLimits.scaled`) and keeps every refusal
(`flood.refused`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import Any

import pytest
from aiogram.methods import (
    EditMessageText,
    SendChatAction,
    SendMessage,
    SendMessageDraft,
)

from bot.telegram.outbox import Outbox, Pacing
from bot.telegram.render import render_markdown, split_rendered
from bot.testing.telegram.flood import FloodLimits
from bot.testing.telegram.session import FakeTelegram

# Pacing on looptime's virtual clock: exact, and the same on a busy machine.
pytestmark = pytest.mark.looptime

SCALE = 0.05
PRIVATE, GROUP = 7, -1007
# The chats the tests write in, as if each one's user had written to the bot first.
CHATS = (*range(PRIVATE, PRIVATE + 101), GROUP, GROUP - 1, *range(-20, 0))
Shown = tuple[str, list[dict[str, Any]]]


def setup(
    *, scale: float = SCALE, chats: Iterable[int] = CHATS, **outbox_kwargs: Any
) -> tuple[Outbox, FakeTelegram]:
    """Outbox + fake Telegram with Telegram's limits scaled by ``scale`` (seconds per second)."""
    telegram = FakeTelegram()
    telegram.flood.limits = FloodLimits.scaled(scale)
    for chat in chats:
        telegram.chat(chat)
    options: dict[str, Any] = {
        "private_interval": 1.05 * scale,
        "draft_interval": 1.0 * scale,
        "group_interval": 3.6 * scale,
        "global_rate": 30 / scale,
        "global_window": scale,  # the fake counts 30 in any (scaled) second
        "group_window": 60 * scale,
        "typing_interval": 4.5 * scale,
        "draft_keepalive": 20 * scale,
        "final_preview_after": 0.25 * scale,
        "retry_after_scale": scale,
        "backoff": 0.01,
    }
    outbox = Outbox(telegram.make_bot(), Pacing(**(options | outbox_kwargs)))
    return outbox, telegram


def shown(telegram: FakeTelegram, chat_id: int) -> list[Shown]:
    """What the chat shows now: the bot's messages, oldest first, as (text, entities)."""
    return [(m.text or "", m.entities) for m in telegram.chat(chat_id).bot_messages]


def expected(markdown: str) -> list[Shown]:
    return [(p.text, p.entities_json) for p in split_rendered(render_markdown(markdown))]


def chat_requests(telegram: FakeTelegram, chat_id: int) -> list[Any]:
    """The calls made in the chat, in order, as aiogram method objects."""
    return [c.as_method() for c in telegram.sent if c.chat_id == chat_id]


async def feed(handle: Any, chunks: list[str], pause: float = 0.005) -> str:
    text = ""
    for chunk in chunks:
        text += chunk
        handle.update(text)
        await asyncio.sleep(pause)
    return text


async def test_private_chat_streams_drafts_and_ends_with_one_message() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True, reply_to=55)
    await asyncio.sleep(0.01)  # the model's first token comes later: "Thinking…" first
    final = await feed(handle, [f"word{i} **bold{i}** " for i in range(40)])
    ids = await handle.finish(final)
    calls = chat_requests(telegram, PRIVATE)
    drafts = [c for c in calls if isinstance(c, SendMessageDraft)]
    assert drafts[0].text in (None, "")  # empty: left out on the wire, as aiogram did
    assert drafts[0].can_stop is True
    assert drafts[0].keep_on_stop is True
    assert len(drafts) > 3
    assert {d.draft_id for d in drafts} == {handle.draft_id}
    assert all(d.parse_mode is None for d in drafts)
    sends = [c for c in calls if isinstance(c, SendMessage)]
    assert len(sends) == 1
    assert isinstance(calls[-1], SendMessage)
    reply = sends[0].reply_parameters
    assert reply is not None
    assert reply.message_id == 55
    assert reply.allow_sending_without_reply is True
    assert not any(isinstance(c, SendChatAction | EditMessageText) for c in calls)
    assert shown(telegram, PRIVATE) == expected(final)
    assert len(ids) == 1
    assert telegram.flood.refused == []


async def test_group_streams_by_editing_one_message() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=True, thread_id=3)
    final = await feed(handle, [f"part {i}. " for i in range(60)])
    ids = await handle.finish(final + "\n\n*done*")
    calls = chat_requests(telegram, GROUP)
    assert not any(isinstance(c, SendMessageDraft) for c in calls)
    sends = [c for c in calls if isinstance(c, SendMessage)]
    edits = [c for c in calls if isinstance(c, EditMessageText)]
    assert len(sends) == 1
    assert len(edits) >= 2
    assert {e.message_id for e in edits} == set(ids)
    assert all(c.message_thread_id == 3 for c in calls if hasattr(c, "message_thread_id"))
    assert shown(telegram, GROUP) == expected(final + "\n\n*done*")
    assert telegram.flood.refused == []


async def test_typing_is_repeated_until_the_first_text() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "group", draft=False)
    await asyncio.sleep(0.55)  # typing every 0.225 s: at 0, ~0.225, ~0.45
    handle.update("first")
    await asyncio.sleep(0.4)
    await handle.finish("first and last")
    calls = chat_requests(telegram, GROUP)
    typing = [c for c in calls if isinstance(c, SendChatAction)]
    assert 2 <= len(typing) <= 4
    assert all(t.action == "typing" for t in typing)
    first_send = next(i for i, c in enumerate(calls) if isinstance(c, SendMessage))
    assert all(isinstance(c, SendChatAction) for c in calls[:first_send])
    assert not any(isinstance(c, SendChatAction) for c in calls[first_send:])


async def test_latest_frame_wins_and_identical_frames_are_skipped() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    offered = []
    for i in range(200):
        offered.append(f"count {i}")
        handle.update(offered[-1])
        handle.update(offered[-1])  # identical: ignored
        await asyncio.sleep(0.002)
    started = telegram.sent[0].at
    await asyncio.sleep(0.2)
    await handle.finish(offered[-1])
    calls = [c for c in chat_requests(telegram, GROUP) if not isinstance(c, SendChatAction)]
    elapsed = telegram.sent[-1].at - started
    assert len(calls) <= elapsed / (3 * SCALE) + 2  # paced, coalesced
    texts = [c.text for c in calls]
    assert all(t in offered for t in texts)
    assert all(a != b for a, b in itertools.pairwise(texts))  # never the same twice
    assert texts[-1] == "count 199"
    assert telegram.flood.refused == []


async def test_final_long_answer_is_split_in_order_in_edit_mode() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum dolor " * 40 for i in range(30)]
    final = "\n\n".join(paragraphs)
    await feed(handle, ["Paragraph 0: lorem", " ipsum"])
    ids = await handle.finish(final)
    want = expected(final)
    assert len(want) >= 4
    assert shown(telegram, GROUP) == want
    assert ids == sorted(ids)
    assert len(ids) == len(want)
    first_send = next(c for c in chat_requests(telegram, GROUP) if isinstance(c, SendMessage))
    assert first_send.text.startswith("Paragraph 0")


async def test_final_long_answer_is_split_in_order_in_draft_mode() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True)
    final = "\n\n".join(f"## Step {i}\n\n```python\nprint({i})\n```\n" * 3 for i in range(150))
    await feed(handle, [final[:5000], final[5000:9000]])
    ids = await handle.finish(final)
    want = expected(final)
    assert len(want) >= 3
    assert shown(telegram, PRIVATE) == want
    assert len(ids) == len(want)
    drafts = [c for c in chat_requests(telegram, PRIVATE) if isinstance(c, SendMessageDraft)]
    assert all(len(d.text or "") <= 4096 for d in drafts)
    assert telegram.flood.refused == []


@pytest.mark.parametrize("empty", ["", "   \n"])
async def test_blank_final_sends_nothing(empty: str) -> None:
    outbox, telegram = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True)
    assert await handle.finish(empty) == []
    assert shown(telegram, PRIVATE) == []


async def test_finish_twice_is_an_error() -> None:
    outbox, _ = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True)
    await handle.finish("a")
    with pytest.raises(RuntimeError):
        await handle.finish("b")
    handle.update("ignored after finish")


async def test_cancelled_caller_does_not_cancel_the_final_delivery() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    handle.update("x")
    task = asyncio.create_task(handle.finish("final text"))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0.4)
    assert shown(telegram, GROUP) == expected("final text")


async def test_draft_keepalive_resends_before_the_draft_expires() -> None:
    outbox, telegram = setup(draft_keepalive=0.2)
    handle = outbox.stream(PRIVATE, "private", draft=True)
    handle.update("waiting for a tool")
    await asyncio.sleep(0.7)  # drafts vanish after 30 s; keepalive every 20 s (0.2 here)
    await handle.finish("done")
    drafts = [c for c in chat_requests(telegram, PRIVATE) if isinstance(c, SendMessageDraft)]
    assert [d.text for d in drafts].count("waiting for a tool") >= 2  # shown, then kept alive


async def test_stream_for_draft_finds_the_open_stream() -> None:
    outbox, _ = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True)
    assert outbox.stream_for_draft(PRIVATE, handle.draft_id) is handle
    assert outbox.stream_for_draft(PRIVATE, handle.draft_id + 1) is None
    assert outbox.stream_for_draft(PRIVATE + 1, handle.draft_id) is None
    await handle.finish("bye")
    assert outbox.stream_for_draft(PRIVATE, handle.draft_id) is None


async def test_no_task_left_behind_when_idle() -> None:
    outbox, _ = setup()
    before = len(asyncio.all_tasks())
    handles = [outbox.stream(-i, "group", draft=False) for i in range(1, 21)]
    for h in handles:
        h.update("hello")
    assert len(asyncio.all_tasks()) <= before + 20  # one task per chat at most
    await asyncio.gather(*(h.finish("bye") for h in handles))
    await asyncio.sleep(0.01)
    assert len(asyncio.all_tasks()) == before
    await outbox.aclose()


async def test_forgotten_stream_stops_typing() -> None:
    outbox, telegram = setup(typing_interval=0.05, abandon_after=0.2)
    outbox.stream(GROUP, "group", draft=False)  # the caller never updates nor finishes it
    await asyncio.sleep(0.6)
    typing = telegram.calls(SendChatAction)
    assert 2 <= len(typing) <= 6
    await asyncio.sleep(0.2)
    assert len(telegram.calls(SendChatAction)) == len(typing)
    await outbox.aclose()


def test_aiogram_has_the_draft_method_and_stop_update_we_use() -> None:
    """Bot API 10.3 in aiogram 3.31: sendMessageDraft(can_stop) + stopped_message_generation."""
    from aiogram.types import MessageGenerationStopped, Update

    fields = SendMessageDraft.model_fields
    used = {"chat_id", "draft_id", "message_thread_id", "text", "entities", "can_stop"}
    assert used | {"keep_on_stop", "parse_mode"} <= set(fields)
    assert SendMessageDraft.__api_method__ == "sendMessageDraft"
    assert "stopped_message_generation" in Update.model_fields
    assert {"chat", "draft_id", "message_thread_id"} <= set(MessageGenerationStopped.model_fields)


async def test_drain_waits_for_pending_finals_before_close() -> None:
    outbox, telegram = setup()
    await outbox.drain()  # nothing pending
    handles = [outbox.stream(-i, "group", draft=False) for i in range(1, 6)]
    tasks = [asyncio.create_task(h.finish(f"final {i}")) for i, h in enumerate(handles)]
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await outbox.drain()
    await outbox.aclose()
    assert [shown(telegram, -i - 1)[0][0] for i in range(5)] == [f"final {i}" for i in range(5)]
    await asyncio.gather(*tasks)


async def test_final_message_does_not_wait_behind_the_last_draft() -> None:
    outbox, telegram = setup(scale=0.5)  # drafts and messages: one per 0.5 s each
    handle = outbox.stream(PRIVATE, "private", draft=True)
    handle.update("almost")
    await asyncio.sleep(0.05)
    last_draft = telegram.sent[-1]
    assert last_draft.method == "sendMessageDraft"
    await handle.finish("almost done")
    final = telegram.sent[-1]
    assert final.method == "sendMessage"
    assert final.at - last_draft.at < 0.2
    assert telegram.flood.refused == []


async def test_a_waiting_draft_frame_goes_with_the_next_update_or_after_the_grace() -> None:
    """Drafts at one per 50 ms: a frame offered inside that interval does not wake the lane by
    a timer at its slot; the stream's next update after the slot sends it, with that update's
    newer text. Without any update it still goes, ``frame_grace`` after its slot."""
    outbox, telegram = setup(frame_grace=0.3)
    handle = outbox.stream(PRIVATE, "private", draft=True)

    def drafts() -> list[str]:
        return [d.text for d in telegram.calls(SendMessageDraft)]

    handle.update("one")
    await asyncio.sleep(0.01)
    handle.update("one two")  # the chat's burst of two drafts is spent
    await asyncio.sleep(0.01)
    assert drafts() == ["one", "one two"]
    handle.update("one two three")  # waits for the next slot, ~40 ms away
    await asyncio.sleep(0.15)  # well past the slot: still waiting for an update
    assert drafts() == ["one", "one two"]
    handle.update("one two three four")
    await asyncio.sleep(0.01)
    assert drafts()[-1] == "one two three four"  # went with the update, with its text
    handle.update("one two three four five")  # inside the interval again; no update follows
    await asyncio.sleep(0.6)
    assert drafts()[-1] == "one two three four five"  # after the grace at the latest
    await handle.finish("one two three four five six")
    assert shown(telegram, PRIVATE) == expected("one two three four five six")
    await outbox.aclose()
    assert telegram.flood.refused == []
