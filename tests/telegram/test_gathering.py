"""The parts of one question (an album, a long paste cut by Telegram's client) are gathered by
their arrival, and not closed while an update of their chat is still on its way through the
bot: a slowed bot does not answer one question as two (bot/telegram/gathering.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiogram.types import Chat, Message, Update, User

from bot import App
from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.telegram.chatqueue import ChatQueues
from bot.telegram.gathering import gathered
from bot.telegram.intake import Intake
from bot.telegram.pastes import WINDOW, PasteJoiner
from bot.testing import BotTester, EchoModel

pytestmark = [pytest.mark.timeout(60)]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_gathering_waits_for_updates_on_their_way_and_at_most_the_hold() -> None:
    clock = Clock()
    paste = PasteJoiner(window=1.0, part_min=10, clock=clock).offer(1, 5, "x" * 12)
    assert paste is not None
    clock.now += 2  # the window has passed, but an update of the chat is on its way
    on_the_way = [True]
    closed: list[str] = []
    waiting = asyncio.create_task(gathered(paste, 1.0, clock, lambda: closed.append("closed"),
                                           lambda: on_the_way[0], hold=5.0))
    await asyncio.sleep(0.2)
    assert not waiting.done(), "closed with a part on its way"
    assert not closed
    on_the_way[0] = False
    await asyncio.wait_for(waiting, 5)
    assert closed == ["closed"]

    stuck = PasteJoiner(window=1.0, part_min=10, clock=clock).offer(1, 5, "y" * 12)
    assert stuck is not None
    clock.now += 7  # past the window and the hold: an update stuck on its way holds no more
    closed.clear()
    await asyncio.wait_for(gathered(stuck, 1.0, clock, lambda: closed.append("closed"),
                                    lambda: True, hold=5.0), 5)
    assert closed == ["closed"]


async def test_a_paste_part_joins_by_its_arrival_not_by_when_the_bot_got_to_it() -> None:
    clock = Clock()
    joiner = PasteJoiner(window=1.0, part_min=10, clock=clock)
    first = joiner.offer(1, 5, "x" * 12, arrived_at=100.0)
    assert first is not None
    clock.now = 103.0  # the bot reaches the second part three seconds later
    assert joiner.offer(1, 5, "y" * 12, arrived_at=100.1) is None, "it arrived with the first"
    assert joiner.offer(1, 5, "z" * 12, arrived_at=102.5) is not None, "it came on its own"


async def test_the_chat_queues_know_what_is_on_its_way(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await migrate(db.url)
    clock = Clock()
    intake = Intake(db.sessionmaker, 42, clock=clock)
    queues = ChatQueues(arriving=lambda chat_id: intake.arriving(chat_id, within=10.0))
    try:
        updates = [_text(7, 1, "first"), _text(8, 1, "second"), _text(9, 2, "elsewhere")]
        assert await intake.accept(updates) == 3
        assert queues.on_their_way(1)
        assert queues.on_their_way(2)
        assert not queues.on_their_way(3)

        arrival = intake.take(7)
        assert arrival is not None
        assert (arrival.chat_id, arrival.at) == (1, 100.0)
        ticket = queues.take(1)  # update 7 in its middlewares and handler
        assert queues.on_their_way(1)
        assert intake.take(8) is not None  # update 8 reached the dispatch ...
        second = queues.take(1)
        ticket.submit(_nothing)
        assert queues.on_their_way(1), "... and is in its handler"
        second.release()  # joined the first, say: no job
        assert not queues.on_their_way(1)

        clock.now += 11  # update 9 never reached the dispatch (a stop): it holds no more
        assert not queues.on_their_way(2)
        assert intake.take(7) is None, "taken once"
        await queues.wait_idle()
    finally:
        await db.dispose()


async def test_a_long_paste_stays_one_question_when_the_bot_reaches_its_last_part_late() -> None:
    # Telegram's client cut a long text in two; both parts arrive together, and the bot gets to
    # the second only after the paste's window has passed (a busy database, a starved
    # process): still one question.
    model = EchoModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        anna = tester.user("Anna")
        chat = Chat(id=anna.id, type="private", first_name="Anna")
        head, tail = "a" * 4000, "b" * 600
        parts = [_text(tester.next_update_id(), anna.id, text, chat, message_id=index)
                 for index, text in enumerate((head, tail), start=1)]
        for part in parts:
            tester.telegram.record(part)  # the fake Telegram knows the chat and the messages
        telegram = tester.built.telegram
        assert await telegram.receive(parts) == 2
        await telegram.handle(parts[0])
        await asyncio.sleep(WINDOW * 1.5)  # the paste's job looks meanwhile: a part is coming
        await telegram.handle(parts[1])
        await tester.settle()
        shown = [tester.telegram.shown[key].text for key in tester.telegram.created
                 if key[0] == anna.id]
        [asked] = model.asked
        assert asked.question == head + "\n" + tail, "one question, one model call"
        assert "".join(shown).count("b" * 600) == 1, "answered once, in full"


async def _nothing() -> None:
    return None


def _text(update_id: int, chat_id: int, text: str, chat: Chat | None = None,
          message_id: int = 1) -> Update:
    import datetime as dt

    sender = User(id=chat_id, is_bot=False, first_name="Anna")
    return Update(update_id=update_id, message=Message(
        message_id=message_id, date=dt.datetime.now(dt.UTC),
        chat=chat or Chat(id=chat_id, type="private"), from_user=sender, text=text))
