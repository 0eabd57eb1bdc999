"""A guest query answered, in process: a user @mentions the bot in a chat it is not a member
of, in reply to someone's message; the bot answers the query once with answerGuestQuery
("Thinking…"), then edits that message into the model's answer, rendered; the model saw the
message replied to and the question only. The same update delivered again answers nothing
again, and nothing of that chat is stored as a conversation. Was the in-process part of
tests/e2e/test_guest_mode.py (which keeps the polling's allowed updates, the real pacing of the
edits and the restart, with the bot as a process)."""

from __future__ import annotations

import pytest
from aiogram.types import Update

from bot import App
from bot.testing import BotTester, ServiceModel
from tests.features.sending import rows

pytestmark = [pytest.mark.timeout(60)]
GUEST_CHAT = -1009000000042
COMPLETION = "/foundationModels/v1/completion"


async def test_a_guest_query_is_answered_once_and_streamed_by_edits() -> None:
    model = ServiceModel()
    # Chunks 10 ms apart, ten times the tester's guest edit interval: a loaded machine that
    # reads them all at once (one buffer) cannot fold the stream into its final edit.
    model.service.queue_reply("The meeting is at **5 pm**, in room 4.", chunks=6,
                              interval=0.01)
    settings = {"SYSTEM_PROMPT": "You are Helper."}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        anna = tester.user("Anna", id=777)
        reply = await tester.guest(anna, "@fmbot_test_bot what time is it?",
                                   replying_to="The meeting moved to 5 pm, room 4",
                                   chat_id=GUEST_CHAT)
        update_id = tester.next_update_id() - 1  # the guest message's
        [shown] = reply.messages
        assert shown.text == "The meeting is at 5 pm, in room 4."
        [answered] = [c for c in tester.sent if c.method == "answerGuestQuery"]
        first = answered.params["result"]["input_message_content"]["message_text"]
        assert first == "Thinking…"
        edits = [c for c in reply.calls if c.method == "editMessageText"]
        assert len(edits) >= 2, "streamed by edits"
        assert {"type": "bold", "offset": 18, "length": 4} in edits[-1].params["entities"]
        (request,) = [r for r in model.service.requests if r.path == COMPLETION]
        texts = [m.get("text", "") for m in request.json["messages"]]
        assert texts[0].startswith("You are Helper.")
        assert len(texts) == 2
        assert "The meeting moved to 5 pm, room 4" in texts[1]
        assert texts[1].endswith("what time is it?")
        assert "@fmbot_test_bot" not in texts[1]

        # Telegram delivering the same update again: nothing answered twice.
        query = answered.params["guest_query_id"]
        await tester.built.telegram.process(Update.model_validate({
            "update_id": update_id, "guest_message": {
                "message_id": 1, "date": 1, "chat": {"id": GUEST_CHAT, "type": "supergroup",
                                                     "title": "Friends"},
                "from": {"id": anna.id, "is_bot": False, "first_name": anna.name},
                "text": "@fmbot_test_bot what time is it?", "guest_query_id": query}}))
        await tester.settle()
        assert len([c for c in tester.sent if c.method == "answerGuestQuery"]) == 1
        assert len([r for r in model.service.requests if r.path == COMPLETION]) == 1
        chat = f"chat_id = {GUEST_CHAT}"
        assert await rows(tester, f"SELECT id FROM conversations WHERE {chat}") == []
        assert await rows(tester, f"SELECT id FROM chats WHERE id = {GUEST_CHAT}") == []
        assert len(await rows(tester, "SELECT * FROM daily_usage WHERE user_id = 777")) == 1
