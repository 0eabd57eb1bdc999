"""Fault suite, Telegram side: flood replies (429 with retry_after) on drafts, edits and sends,
"message is not modified", a message the user deleted mid-stream, a user who blocks the bot,
a slow or failing getUpdates. Bad input lives in test_faults_input.py.

All scenarios share one bot (faults_world.py) and run at the same time, each in its own chats.
Private chats stream with drafts and end with sendMessage; groups send one message and edit it
(about one call every 3 s), so group scenarios script answers of several seconds.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.testing.telegram.core import NOT_MODIFIED
from bot.testing.yandex.scripts import Reply
from tests.e2e.faults_table import scenario
from tests.e2e.faults_world import EN, Script, World, shared

pytestmark = [pytest.mark.asyncio(loop_scope="session"),
              pytest.mark.timeout(180)]

OK = [("user", "complete"), ("assistant", "complete")]
STOPPED = [("user", "complete"), ("assistant", "cancelled")]
LONG = (
    "Rivers carve valleys over thousands of years. Water picks up grains of sand and stone, "
    "and those grains scrape the riverbed as they travel. Floods move far more material in a "
    "day than a calm river moves in a year, which is why valleys deepen in sudden steps."
)


def group_user(chat: int) -> dict[str, object]:
    return {"id": abs(chat), "first_name": f"Member{abs(chat)}"}


async def answered_despite(
    w: World, chat: int, method: str, *, chunks: int = 4, interval: float = 0.3
) -> None:
    """One 429 (retry_after 2) on ``method``: the chat is paused, nothing is retried inside
    the penalty window (which the fake would refuse again), the final text is exact."""
    w.tg.fail_next(method, 429, retry_after=2, chat_id=chat)
    tag = w.script(chat, Script(Reply(LONG, chunks=chunks, interval=interval)))
    if chat > 0:
        w.tg.send_user_message(chat, f"How do rivers make valleys? {tag}")
    else:
        w.tg.send_user_message(
            chat, f"@fm_test_bot how do rivers make valleys? {tag}", chat_type="supergroup",
            title=f"Group {chat}", user=group_user(chat),
        )
    await w.shows(chat, [LONG])
    await w.stored(chat, OK)
    failed = [(c.method, c.description) for c in w.tg.calls_for(chat_id=chat) if c.status == 429]
    assert failed == [(method, "Too Many Requests: retry after 2")], failed


@shared("Telegram 429 with retry_after on a draft: waited out, right answer")
async def test_telegram_429_on_draft(w: World) -> None:
    await answered_despite(w, 3101, "sendMessageDraft")


@shared("Telegram 429 with retry_after on an edit: waited out, right answer")
async def test_telegram_429_on_edit(w: World) -> None:
    await answered_despite(w, -3102, "editMessageText", chunks=6, interval=0.8)


@shared("Telegram 429 with retry_after on the final send: waited out, sent once")
async def test_telegram_429_on_send(w: World) -> None:
    await answered_despite(w, 3103, "sendMessage")


@shared("Telegram 502 on the final send: retried, sent once")
async def test_telegram_502_on_send(w: World) -> None:
    chat = 3110
    w.tg.fail_next("sendMessage", 502, chat_id=chat)
    tag = w.script(chat, Script(Reply(LONG, chunks=3, interval=0.2)))
    w.tg.send_user_message(chat, f"How do rivers make valleys? {tag}")
    await w.shows(chat, [LONG])
    await w.stored(chat, OK)
    sends = [c.status for c in w.tg.calls_for(chat_id=chat, method="sendMessage")]
    assert sends == [502, 200]


@shared("Telegram 'message is not modified' on an edit: taken as success, right answer")
async def test_telegram_not_modified(w: World) -> None:
    chat = -3104
    # A 9 s answer in a group: once the first message shows, the next edit (one of the
    # stream's, seconds before the final one) is refused as "not modified", as Telegram does
    # when an edit shows nothing new; the final edit must still come.
    tag = w.script(chat, Script(Reply(LONG, chunks=7, interval=1.5)))
    w.tg.send_user_message(
        chat, f"@fm_test_bot tell me about rivers {tag}", chat_type="supergroup",
        title="Rivers", user=group_user(chat),
    )
    group = w.tg.chat(chat)
    await w.until("the first frame", lambda: group.bot_messages)
    w.tg.fail_next("editMessageText", 400, f"Bad Request: {NOT_MODIFIED}", chat_id=chat)
    await w.shows(chat, [LONG])
    await w.stored(chat, OK)
    refused = [c for c in w.tg.calls_for(chat_id=chat) if c.status != 200]
    assert len(refused) == 1, "the 'not modified' edit must not be retried"


@shared("Telegram 'message to edit not found' (user deleted it mid-stream): answer re-sent")
async def test_telegram_message_deleted_mid_stream(w: World) -> None:
    chat = -3105
    tag = w.script(chat, Script(Reply(LONG, chunks=7, interval=0.8)))
    w.tg.send_user_message(
        chat, f"@fm_test_bot why are valleys deep? {tag}", chat_type="supergroup",
        title="Valleys", user=group_user(chat),
    )
    group = w.tg.chat(chat)
    [first] = await w.until("the first frame", lambda: group.bot_messages[:1])
    assert first.text != LONG, "the stream must still be running when the user deletes it"
    w.tg.delete_message(chat, first.message_id)
    await w.shows(chat, [LONG])
    [rows_user, answer] = await w.stored(chat, OK)
    [shown] = w.tg.chat(chat).bot_messages
    # The partial's id is recorded while streaming; the delivered message's replaces it.
    await w.until(
        "the answer's stored message ids",
        lambda: json.loads(w.e2e.db.messages(chat)[1]["telegram_message_ids"])
        == [shown.message_id],
    )
    assert rows_user["text"].endswith(tag)
    assert answer["text"] == LONG


@shared("Telegram 403 'bot was blocked by the user' mid-stream: stops, no crash, later ok")
async def test_telegram_blocked_mid_stream(w: World) -> None:
    chat = 3106
    tag = w.script(chat, Script(Reply(LONG, chunks=12, interval=0.4)))
    w.tg.send_user_message(chat, f"Tell me about rivers {tag}")
    private = w.tg.chat(chat)
    await w.until("a draft with text", lambda: [d for d in private.drafts if d.text])
    w.tg.block_user(chat)
    # The answer stops at once (no more tokens spent for a chat that cannot read it); what
    # was written is kept as cancelled.
    [_, answer] = await w.stored(chat, STOPPED)
    assert LONG.startswith(answer["text"])
    await asyncio.sleep(1.0)  # whatever the bot still tries would show now
    calls = w.tg.calls_for(chat_id=chat)
    refusals = [i for i, c in enumerate(calls) if c.status == 403]
    assert len(refusals) == 1, [(c.method, c.status) for c in calls]
    assert refusals[0] == len(calls) - 1, "nothing is sent to a chat that blocked the bot"
    assert w.texts(chat) == []

    w.tg.unblock_user(chat)  # the user comes back: the chat works again
    w.tg.send_user_message(chat, f"Are you there? {tag}")
    await w.shows(chat, [LONG])
    await w.stored(chat, STOPPED + OK)
    assert w.served(chat) == 2


@shared("stop button mid-stream: upstream closed, partial kept as [stopped], cancelled")
async def test_telegram_stop_button(w: World) -> None:
    chat = 3111
    tag = w.script(chat, Script(Reply(LONG, chunks=12, interval=0.4)))
    w.tg.send_user_message(chat, f"Tell me everything about rivers {tag}")
    private = w.tg.chat(chat)
    await w.until("a draft with text", lambda: [d for d in private.drafts if d.text])
    w.tg.press_stop(chat)
    [shown] = await w.until("the stopped answer", lambda: w.texts(chat))
    assert shown.endswith(EN["stopped_marker"])
    partial = shown.removesuffix(EN["stopped_marker"]).strip()
    assert partial
    assert LONG.startswith(partial)
    [_, answer] = await w.stored(chat, STOPPED)
    assert answer["text"] == partial
    w.settled[chat] = [shown]


@shared("Telegram getUpdates slow (3 s per call): answered once", last=True)
async def test_telegram_slow_get_updates(w: World) -> None:
    chat = 3107
    tag = w.script(chat, Script(Reply("Still here, just slowly.")))
    w.tg.slow_get_updates(3.0)
    try:
        # The first question ends the poll under way; the second comes during a slow one
        # (the bot polls again at once after an update, and that poll starts with 3 s).
        w.tg.send_user_message(chat, f"Hello through a slow network {tag}")
        await w.shows(chat, ["Still here, just slowly."])
        w.tg.send_user_message(chat, f"Still there? {tag}")
        await w.shows(chat, ["Still here, just slowly."] * 2)
    finally:
        w.tg.slow_get_updates(0.0)
    await w.stored(chat, OK + OK)


@shared(
    "Telegram getUpdates failing (502 three times): polling recovers, answered once", last=True
)
async def test_telegram_failing_get_updates(w: World) -> None:
    chat = 3108
    tag = w.script(chat, Script(Reply("Back after a hiccup.")))
    w.tg.fail_get_updates(3, status=502)
    # The first question ends the poll under way (or comes after it failed); three polls fail.
    w.tg.send_user_message(chat, f"Hello through a broken network {tag}")
    await w.shows(chat, ["Back after a hiccup."])
    await w.until("three failed getUpdates", lambda: w.tg.updates.fail_times == 0)
    w.tg.send_user_message(chat, f"Are you back? {tag}")
    await w.shows(chat, ["Back after a hiccup."] * 2)
    await w.stored(chat, OK + OK)


@scenario("shared bot after the Telegram faults: alive, consistent, nothing answered twice")
async def test_shared_bot_after_telegram_faults(world: World) -> None:
    await world.quiet_check()


@scenario("shared bot never exceeds Telegram's flood limits itself (no 429 it caused)")
async def test_shared_bot_stays_under_flood_limits(world: World) -> None:
    await world.quiet_check()
    refused = [(c.chat_id, c.method) for c in world.tg.calls if c.status == 429]
    assert world.tg.count_flood_429 == 0, f"429s (injected and caused): {refused}"
