"""A replica that gives up a chat's lease removes what its running answer showed, and sends
nothing more there (issue 67: a group kept 49 of 974 characters of an answer another replica
gave again in a message of its own). The two windows where nobody else could find that
message: its id not stored yet when the lease went, and the frame still on its way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiogram import Bot

from bot.conversation import RELINQUISHED, ChatRef, TurnResult
from bot.foundation_models.types import CompletionStatus, Snapshot
from bot.storage.models import MessageStatus
from bot.telegram.answer_parts import Target
from bot.telegram.answers import Answerer
from bot.telegram.texts import Translator
from bot.testing.telegram.session import FakeTelegram
from tests.telegram.test_outbox import GROUP, setup, shown

pytestmark = pytest.mark.looptime

T = Translator.for_code("en")


class Conversation:
    """The core's side the Answerer reaches while a turn streams: noting where the answer is
    shown. `stored` is set once a note is in the database; `hold` keeps the notes from it (a
    database slower than the lease)."""

    track_delivery = True

    def __init__(self, *, hold: bool) -> None:
        self.hold = asyncio.Event()
        if not hold:
            self.hold.set()
        self.stored: list[list[int]] = []

    async def note_streaming_ids(self, chat_id: int, ids: list[int]) -> None:
        await self.hold.wait()
        self.stored.append(ids)


class GatedSession(FakeTelegram):
    """Telegram (the same fake's state) taking a sendMessage only when `gate` opens: the
    frame is on its way."""

    def __init__(self, telegram: FakeTelegram) -> None:
        super().__init__(telegram.state)
        self.gate = asyncio.Event()
        self.gate.set()
        self.sending = asyncio.Event()

    async def post_json(self, bot: Bot, name: str, body: bytes) -> tuple[int, str]:
        if name == "sendMessage":
            self.sending.set()
            await self.gate.wait()
        return await super().post_json(bot, name, body)


def streaming(first: asyncio.Event) -> Callable[..., Any]:
    async def run(on_snapshot: Callable[[Snapshot], None]) -> TurnResult:
        on_snapshot(Snapshot("The first words of a long answer", CompletionStatus.PARTIAL))
        first.set()
        await asyncio.Event().wait()  # the model goes on streaming until the lease is lost
        raise AssertionError("unreachable")

    return run


def answerer(outbox: Any, conversation: Conversation) -> Answerer:
    nothing: Any = None
    return Answerer(conversation=conversation, outbox=outbox, queues=nothing)  # type: ignore[arg-type]


async def relinquish(job: asyncio.Task[None]) -> None:
    job.cancel(RELINQUISHED)
    with pytest.raises(asyncio.CancelledError):
        await job


async def test_a_group_frame_shown_but_not_noted_is_removed_when_the_lease_is_lost() -> None:
    outbox, telegram = setup()
    conversation = Conversation(hold=True)  # the frame's id never reaches the database
    front = answerer(outbox, conversation)
    first = asyncio.Event()
    target = Target(ChatRef(GROUP, "supergroup"))
    job = asyncio.create_task(front.deliver(target, T, streaming(first)))
    await first.wait()
    while not shown(telegram, GROUP):  # the frame is shown in the group  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert conversation.stored == []
    await relinquish(job)
    assert shown(telegram, GROUP) == []  # nothing half-written is left for the next owner
    await asyncio.sleep(5)
    sent = [r.method for r in telegram.sent]
    assert sent[-1] == "deleteMessage"  # and nothing was sent after it
    await outbox.aclose()


async def test_a_group_frame_racing_the_lease_loss_is_removed_once_telegram_shows_it() -> None:
    outbox, telegram = setup()
    gated = GatedSession(telegram)
    outbox.bot.session = gated
    conversation = Conversation(hold=False)
    front = answerer(outbox, conversation)
    first = asyncio.Event()
    gated.gate.clear()
    job = asyncio.create_task(
        front.deliver(Target(ChatRef(GROUP, "supergroup")), T, streaming(first))
    )
    await gated.sending.wait()  # the first frame is on its way to Telegram
    job.cancel(RELINQUISHED)  # the lease goes before Telegram answers
    await asyncio.sleep(0.5)
    gated.gate.set()  # Telegram shows it: its id comes back to a replica that let go
    with pytest.raises(asyncio.CancelledError):
        await job
    while not gated.sent:  # Telegram has answered the frame  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    await asyncio.sleep(5)  # and whatever follows it has gone
    sent = [r.method for r in gated.sent]
    assert shown(telegram, GROUP) == []
    assert sent.count("sendMessage") == 1
    assert sent[-1] == "deleteMessage"
    await outbox.aclose()


class Delivering(Conversation):
    """The core's side once the turn has ended: the answer stored, its delivery to be noted."""

    def __init__(self) -> None:
        super().__init__(hold=False)
        self.outage = None
        self.delivered: list[tuple[int, list[int] | None]] = []

    async def mark_delivered(self, message_id: int, ids: list[int] | None) -> None:
        self.delivered.append((message_id, ids))


def ended(text: str) -> Callable[..., Any]:
    async def run(on_snapshot: Callable[[Snapshot], None]) -> TurnResult:
        return TurnResult(message_id=42, text=text, status=MessageStatus.COMPLETE, usage=None,
                          trimmed_history=False, error=None)

    return run


async def test_a_final_on_its_way_when_the_lease_is_lost_is_shown_and_noted_once() -> None:
    """The turn ended and its answer is stored; its final message waits on Telegram when the
    lease goes (a replica starved past its renewals). Withdrawing it then left the message
    shown and the answer not noted: the next holder answered the question again (two
    answers to one question, seen in tests/e2e/test_replicas_webhook.py). The final is
    delivered and noted; only then does the job give way."""
    outbox, telegram = setup()
    gated = GatedSession(telegram)
    outbox.bot.session = gated
    conversation = Delivering()
    front = answerer(outbox, conversation)
    gated.gate.clear()
    job = asyncio.create_task(
        front.deliver(Target(ChatRef(GROUP, "supergroup")), T, ended("The whole answer."))
    )
    await gated.sending.wait()  # the final is on its way to Telegram
    job.cancel(RELINQUISHED)  # the lease goes before Telegram answers
    await asyncio.sleep(0.5)
    assert not job.done(), "the job waits for the answer it has already sent"
    gated.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await job
    await asyncio.sleep(5)
    sent = [r.method for r in gated.sent]
    assert [text for text, _ in shown(telegram, GROUP)] == ["The whole answer."]
    assert "deleteMessage" not in sent
    assert conversation.delivered == [
        (42, [m.message_id for m in telegram.chat(GROUP).bot_messages])]
    await outbox.aclose()
