"""Bot-wide budgets: priorities, refunds, the adaptive draft rate; and the outbox using them
(finals never wait behind frames, drafts never spend the message budget, a draft 429 never
delays a final)."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.methods import EditMessageText, SendMessage, SendMessageDraft

from bot.telegram.outbox.budget import AdaptiveBudget, LocalBudget, Priority
from bot.testing.telegram.flood import loop_clock
from tests.telegram.budget_order import SERVED, served_order
from tests.telegram.test_outbox import GROUP, PRIVATE, SCALE, expected, setup, shown

# Pacing on looptime's virtual clock: exact, and the same on a busy machine.
pytestmark = pytest.mark.looptime


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_waiters_are_served_by_priority_then_in_order() -> None:
    budget = LocalBudget(50.0)  # one slot per 20 ms
    assert budget.reserve(Priority.FRAME) is None  # the bucket's one token: at once
    assert await served_order(budget) == SERVED


async def test_cancelled_waiter_gives_its_place_and_refund_gives_the_slot_back() -> None:
    budget = LocalBudget(10.0)  # one slot per 100 ms
    assert budget.reserve(Priority.FINAL) is None
    frame = budget.reserve(Priority.FRAME)
    final = budget.reserve(Priority.FINAL)
    assert frame is not None
    assert final is not None
    frame.cancel()
    started = loop_clock()
    await final
    assert 0.05 < loop_clock() - started < 0.2
    budget.refund()  # the slot went unused: the next call need not wait for a new one
    assert budget.reserve(Priority.FRAME) is None
    assert budget.waiting == 0


async def test_rate_spacing_holds_over_many_calls() -> None:
    budget = LocalBudget(100.0, burst=5.0)
    started = loop_clock()
    for _ in range(25):
        grant = budget.reserve(Priority.FINAL)
        if grant is not None:
            await grant
    elapsed = loop_clock() - started
    assert 0.17 <= elapsed < 0.5  # 5 at once, then 20 at 100/s


async def test_draft_rate_falls_on_429_holds_then_recovers_slowly() -> None:
    clock = Clock()
    budget = AdaptiveBudget(100.0, floor=5.0, recovery=19.0, clock=clock)
    assert budget.rate(clock.now) == 100.0
    budget.flooded(retry_after=10.0)
    assert budget.rate(clock.now) == 50.0
    budget.flooded(retry_after=10.0)  # a call that was already in flight: no lower
    assert budget.rate(clock.now) == 50.0
    clock.now += 1.0
    budget.flooded(retry_after=10.0)  # a 429 a second later halves it again
    assert budget.rate(clock.now) == 25.0
    clock.now += 10.0  # held for the retry_after ...
    assert budget.rate(clock.now) == 25.0
    clock.now += 5.0  # ... then climbing by (100 - 5) / 19 = 5 per second
    assert budget.rate(clock.now) == 50.0
    clock.now += 9.9
    assert 99.0 < budget.rate(clock.now) < 100.0
    clock.now += 1.0
    assert budget.rate(clock.now) == 100.0
    for _ in range(10):  # never below the floor
        clock.now += 1.0
        budget.flooded(retry_after=1.0)
    assert budget.rate(clock.now) == 5.0


async def test_a_429_slows_the_drafts_that_wait() -> None:
    budget = AdaptiveBudget(100.0, floor=5.0, recovery=60.0)
    assert budget.reserve(Priority.FRAME) is None
    budget.flooded(retry_after=0.0)  # 100/s -> 50/s; the bucket is emptied
    grant = budget.reserve(Priority.FRAME)
    assert grant is not None
    started = loop_clock()
    await grant
    assert loop_clock() - started >= 0.015  # 20 ms at 50/s, not 10 ms at 100/s


async def test_finals_go_first_when_the_bot_wide_budget_is_short() -> None:
    """Chats that stream by edits, the bot-wide budget at 20 calls a second: the first frames
    of 30 streams queue for it (1.5 s), and a final that comes meanwhile goes before them."""
    outbox, telegram = setup(global_rate=20, global_window=1 / 20)
    chats = [PRIVATE + i for i in range(30)]
    handles = [outbox.stream(chat, "private", draft=False) for chat in chats]
    for i, handle in enumerate(handles):
        handle.update(f"first text of {i}")
    await asyncio.sleep(0.2)  # a few first frames are out, the rest wait for the budget
    asked = loop_clock()
    ids = await handles[-1].finish("the final answer")
    took = loop_clock() - asked
    assert ids
    assert took < 0.3  # a slot or two (50 ms each), not the 1.3 s of the queued frames
    assert shown(telegram, chats[-1]) == expected("the final answer")
    for handle in handles[:-1]:
        await handle.finish("done")
    await outbox.aclose()
    assert telegram.flood.refused == []


async def test_first_frames_go_before_later_frames() -> None:
    outbox, telegram = setup(global_rate=20, global_window=1 / 20)
    old = [outbox.stream(PRIVATE + i, "private", draft=False) for i in range(30)]
    for i, handle in enumerate(old):
        handle.update(f"old answer {i} begins")
    await asyncio.sleep(1.7)  # their 30 first frames are shown (20 a second) ...
    for i, handle in enumerate(old):
        handle.update(f"old answer {i} begins and goes on")  # ... 30 later frames queue
    await asyncio.sleep(0.06)
    new = outbox.stream(PRIVATE + 100, "private", draft=False)
    new.update("a new answer")
    asked = loop_clock()
    while not [r for r in telegram.sent if r.chat_id == PRIVATE + 100]:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    assert loop_clock() - asked < 0.3  # ahead of the queued later frames (1.5 s)
    for handle in [*old, new]:
        await handle.finish("end")
    await outbox.aclose()


async def test_drafts_do_not_spend_the_message_budget() -> None:
    """Private chats stream drafts while the bot-wide message budget is one call per scaled
    second: the drafts keep flowing, at the chat's draft pace."""
    outbox, telegram = setup(global_rate=1 / SCALE, global_window=SCALE)
    handles = [outbox.stream(PRIVATE + i, "private", draft=True) for i in range(10)]
    for step in range(12):
        for i, handle in enumerate(handles):
            handle.update(f"answer {i} step {step}")
        await asyncio.sleep(0.25 * SCALE)
    drafts = telegram.calls(SendMessageDraft)
    assert len(drafts) >= 10 * 3  # ~3 s of streaming at one draft per second, per chat
    for handle in handles:
        await handle.finish("done")
    await outbox.aclose()
    assert telegram.flood.refused == []


async def test_draft_429_pauses_drafts_only_and_never_delays_the_final() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True)
    await asyncio.sleep(0.01)  # "Thinking…"
    telegram.fail_next("sendMessageDraft", 429, retry_after=20)  # 1 s scaled
    handle.update("the answer so")
    await asyncio.sleep(0.01)
    assert telegram.sent[-1].status == 429
    flood_at = telegram.sent[-1].at
    handle.update("the answer so far")
    await asyncio.sleep(0.2)
    assert telegram.sent[-1].at == flood_at  # no draft inside the penalty window
    ids = await handle.finish("the answer, final")
    final = telegram.sent[-1]
    assert final.method == "sendMessage"
    assert final.at - flood_at < 0.3  # not the 1 s the drafts wait
    assert ids
    assert shown(telegram, PRIVATE) == expected("the answer, final")
    assert outbox._drafts.rate(loop_clock()) < 200.0  # lowered for the whole bot
    await outbox.aclose()


async def test_group_keeps_its_budget_for_the_next_answers_first_frame() -> None:
    outbox, telegram = setup()
    first = outbox.stream(GROUP, "supergroup", draft=False)
    for step in range(20):
        first.update("word " * (step + 1))
        await asyncio.sleep(0.5 * SCALE)
    await first.finish("first answer")
    second = outbox.stream(GROUP, "supergroup", draft=False)
    asked = loop_clock()
    second.update("second answer starts")
    while len(telegram.calls(SendMessage)) < 2:  # noqa: ASYNC110 - what the fake records
        await asyncio.sleep(0.005)
    assert loop_clock() - asked < 0.5 * SCALE  # not a group interval (3.6 s scaled)
    await second.finish("second answer")
    await outbox.aclose()
    assert len(telegram.calls(EditMessageText)) >= 1
    assert telegram.flood.refused == []


async def test_the_whole_final_shows_as_a_draft_while_its_message_waits_its_turn() -> None:
    """Ten private chats finish at once and the bot-wide budget sends 10 messages a second:
    each chat's whole final text is shown at once as a draft (drafts are outside that budget),
    and the message that keeps it follows in its turn."""
    outbox, telegram = setup(global_rate=10, global_window=0.1)
    chats = [PRIVATE + i for i in range(10)]
    handles = [outbox.stream(chat, "private", draft=True) for chat in chats]
    for i, handle in enumerate(handles):
        handle.update(f"answer {i} so")
    await asyncio.sleep(0.2)  # the frames are out; the chats' draft budgets refill
    asked = loop_clock()
    await asyncio.gather(
        *(h.finish(f"answer {i} so far, and done") for i, h in enumerate(handles))
    )
    waited = 0
    for i, chat in enumerate(chats):
        text = f"answer {i} so far, and done"
        mine = [r for r in telegram.sent if r.chat_id == chat]
        final = next(r for r in mine if r.method == "sendMessage")
        preview = [
            r for r in mine if r.method == "sendMessageDraft" and r.params.get("text") == text
        ]
        if preview:  # never after the message that keeps the text
            assert preview[0].at < final.at
        # The first finals may go without a preview: their slot comes within a few tenths
        # and may beat the preview's timer (on a loaded machine the loop runs both late, so
        # when the message went is no sign of whether it waited). These queued for half a
        # second or more at 10 a second: their whole text must have shown long before.
        if final.at - asked > 0.45:
            assert preview, f"chat {i}: no preview, its message went {final.at - asked:.2f}s late"
            assert preview[0].at - asked < 0.3  # not the 0.1 s per message of the queue
            waited += 1
        assert shown(telegram, chat) == expected(text)
    assert waited >= 5  # the finals did queue for the budget
    await outbox.aclose()
    assert telegram.flood.refused == []


async def test_no_preview_draft_when_the_final_goes_at_once() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(PRIVATE, "private", draft=True)
    handle.update("the answer so")
    await asyncio.sleep(0.1)
    await handle.finish("the answer, final")
    drafts = [d.text for d in telegram.calls(SendMessageDraft)]
    assert "the answer, final" not in drafts
    assert shown(telegram, PRIVATE) == expected("the answer, final")
    await outbox.aclose()


async def test_the_preview_spends_the_drafts_that_frames_leave_in_reserve() -> None:
    """Frames spend the chat's drafts down to the reserve; a final that must wait for the
    bot-wide budget still shows its whole text at once, with the reserved draft."""
    outbox, telegram = setup(global_rate=10, global_window=0.1, final_preview_after=0)
    busy = outbox.stream(PRIVATE + 50, "private", draft=False)
    busy.update("takes the bot-wide slot")
    handle = outbox.stream(PRIVATE, "private", draft=True)
    for text in ("one", "one two", "one two three", "one two three four"):
        handle.update(text)
        await asyncio.sleep(0.005)
    drafts = telegram.calls(SendMessageDraft)
    assert len(drafts) == 2  # the third frame waits: one draft is kept in reserve
    asked = loop_clock()
    await handle.finish("one two three four five")
    mine = [r for r in telegram.sent if r.at >= asked and r.chat_id == PRIVATE]
    preview, final = mine  # the whole text as a draft, then the message in its slot
    assert preview.method == "sendMessageDraft"
    assert preview.params["text"] == "one two three four five"
    assert final.method == "sendMessage"
    # Under the draft interval (50 ms): the reserved draft, not one that came back later.
    assert preview.at - asked < 0.05
    await busy.finish("done")
    await outbox.aclose()


async def test_no_preview_when_turned_off() -> None:
    outbox, telegram = setup(global_rate=10, global_window=0.1, final_preview=False)
    handles = [outbox.stream(PRIVATE + i, "private", draft=True) for i in range(5)]
    for i, handle in enumerate(handles):
        handle.update(f"answer {i} so")
    await asyncio.sleep(0.2)
    await asyncio.gather(*(h.finish(f"answer {i}, done") for i, h in enumerate(handles)))
    drafts = [d.text for d in telegram.calls(SendMessageDraft)]
    assert not [text for text in drafts if text.endswith(", done")]
    assert [shown(telegram, PRIVATE + i) for i in range(5)] == [
        expected(f"answer {i}, done") for i in range(5)
    ]
    await outbox.aclose()
