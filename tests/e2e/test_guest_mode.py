"""Guest mode end to end: `python -m bot run` against the fake Telegram
(bot/testing/telegram/guest.py) and the fake Yandex server. A user @mentions the bot in a chat it
is not a member of, in reply to someone's message: the bot asks for `guest_message` updates,
answers the query once with answerGuestQuery ("Thinking…"), then edits that message through its
inline_message_id into the model's answer, rendered; the model saw the message replied to and the
question only. The same update delivered twice, and a restart, answer nothing again; nothing of
that chat is stored as a conversation."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]

GUEST_CHAT = -1009000000042
ASKER = {"id": 777, "first_name": "Anna"}


async def test_a_guest_query_is_answered_once_and_streamed_by_edits(tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    workdir.mkdir()
    async with E2E(workdir, extra_env={"SYSTEM_PROMPT": "You are Helper."}) as e2e:
        e2e.fm.queue_reply("The meeting is at **5 pm**, in room 4.", chunks=6, interval=0.4)
        await e2e.start_bot()
        polls = [c for c in e2e.tg.calls if c.method == "getUpdates"]
        assert any("guest_message" in str(c.params.get("allowed_updates")) for c in polls)
        update_id, query = e2e.tg.send_guest_message(
            GUEST_CHAT, "@fm_test_bot what time is it?", user=ASKER,
            reply_to_text="The meeting moved to 5 pm, room 4",
        )
        guest = e2e.tg.guest[query]
        await e2e.wait_for(lambda: guest.text == "The meeting is at 5 pm, in room 4.", 60)
        assert guest.answers == 1
        assert guest.versions[0] == "Thinking…"
        assert {"type": "bold", "offset": 18, "length": 4} in guest.entities
        # Paced: no two calls on that message within a second.
        times = [c.at for c in e2e.tg.calls if c.status == 200 and (
            c.method == "answerGuestQuery" or (c.method == "editMessageText" and c.params.get(
                "inline_message_id") == guest.inline_message_id))]
        assert len(times) == len(guest.versions) >= 2
        assert all(b - a >= 0.9 for a, b in itertools.pairwise(times)), times
        (request,) = [r for r in e2e.fm.requests if "completion" in r.path]
        texts = [m.get("text", "") for m in request.json["messages"]]
        assert texts[0].startswith("You are Helper.")
        assert len(texts) == 2
        assert "The meeting moved to 5 pm, room 4" in texts[1]
        assert texts[1].endswith("what time is it?")
        assert "@fm_test_bot" not in texts[1]

        # Telegram delivering the same update again, and a restart: nothing answered twice.
        e2e.tg.send_update({"update_id": update_id, "guest_message": {
            "message_id": 1, "date": 1, "chat": {"id": GUEST_CHAT, "type": "supergroup",
                                                 "title": "Friends"},
            "from": {**ASKER, "is_bot": False}, "text": "@fm_test_bot what time is it?",
            "guest_query_id": query}})
        await e2e.restart_bot()
        await e2e.wait_for(lambda: not e2e.tg.updates.pending, 30)
        assert guest.answers == 1
        assert len([r for r in e2e.fm.requests if "completion" in r.path]) == 1
        assert await e2e.bot.terminate() == 0
    assert e2e.db.messages(GUEST_CHAT) == []
    assert e2e.db.count("conversations", f"chat_id = {GUEST_CHAT}") == 0
    assert e2e.db.count("chats", f"id = {GUEST_CHAT}") == 0
    assert e2e.db.count("daily_usage", "user_id = 777") == 1
