"""Guest mode, the bot as `run` builds it (in the test's process) against the fake Telegram
(bot/testing/telegram/guest.py) and the fake Yandex server. The polling asks for `guest_message`
updates, the edits of a guest answer keep Telegram's real pace (a second apart), and a restart
answers nothing again. The answer itself (once, "Thinking…", then edits into the rendered
answer, what the model saw, a duplicate update, nothing stored) is tested in process:
tests/features/guest/test_guest_answers.py."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.e2e.harness import E2E

pytestmark = [pytest.mark.timeout(180)]

GUEST_CHAT = -1009000000042
ASKER = {"id": 777, "first_name": "Anna"}


async def test_guest_edits_are_paced_and_a_restart_answers_nothing_again(tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    workdir.mkdir()
    async with E2E(workdir, extra_env={"SYSTEM_PROMPT": "You are Helper."},
                   in_process=True) as e2e:
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
        # Paced: no two calls on that message within a second.
        times = [c.at for c in e2e.tg.calls if c.status == 200 and (
            c.method == "answerGuestQuery" or (c.method == "editMessageText" and c.params.get(
                "inline_message_id") == guest.inline_message_id))]
        assert len(times) == len(guest.versions) >= 2
        assert all(b - a >= 0.9 for a, b in itertools.pairwise(times)), times
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
