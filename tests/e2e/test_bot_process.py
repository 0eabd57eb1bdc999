"""The bot as `run` builds it against the fake Bot API and Yandex servers over loopback: a
streamed answer and /image in the test's process (the wire and the pacing are the subject).
An image after a SIGKILL is test_faults_process.py's (the bot as a process: the kill is the
subject). The webhook's secret is test_faults_webhook.py's (the process's own server) and
tests/telegram/test_handlers_app.py's."""

from __future__ import annotations

import pytest

from bot.testing.telegram.state import ChatMessage
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.timeout(180)]


def photos(e2e: E2E, chat_id: int) -> list[ChatMessage]:
    chat = e2e.tg.chats.get(chat_id)
    return [] if chat is None else [m for m in chat.bot_messages if m.photo is not None]


async def test_streamed_answers_equal_the_model_text_in_private_and_group_chats(
    e2e: E2E,
) -> None:
    reply = (
        "Streaming works. This answer arrives in several chunks, and the text the user "
        "finally sees is exactly what the model wrote."
    )
    e2e.fm.queue_reply(reply, chunks=8, interval=0.25)
    await e2e.start_bot()
    e2e.tg.send_user_message(1001, "Tell me something")
    chat = e2e.tg.chat(1001)
    [final] = await e2e.wait_for(lambda: [m for m in chat.bot_messages if m.text == reply], 30)
    partial = [d.text for d in chat.drafts if d.text and d.text != reply]
    assert partial or final.edits, "no partial text was shown before the final message"
    assert [d.text for d in chat.drafts if d.text] == sorted(
        (d.text for d in chat.drafts if d.text), key=len
    ), "draft frames went backwards"

    group_reply = "In a group the answer is one message, edited as it grows, then final."
    e2e.fm.queue_reply(group_reply, chunks=4, interval=0.25)
    e2e.tg.send_user_message(
        -2001, "@fm_test_bot what do you think?", chat_type="supergroup", title="Team",
        user={"id": 7, "first_name": "Ann"},
    )
    group = e2e.tg.chat(-2001)
    await e2e.wait_for(lambda: [m for m in group.bot_messages if m.text == group_reply], 30)
    assert group.drafts == [], "drafts are refused in groups; edits must be used"
    assert len(group.bot_messages) == 1
    assert e2e.tg.count_429 == 0
    assert await e2e.bot.terminate() == 0
    rows = e2e.db.messages(1001)
    assert [(r["role"], r["status"]) for r in rows] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert rows[1]["text"] == reply
    assert e2e.db.check_consistency() == []


async def test_image_command_delivers_exactly_the_generated_jpeg(e2e: E2E) -> None:
    await e2e.start_bot()
    e2e.tg.send_user_message(1002, "/image a red fox in the snow")
    [photo] = await e2e.wait_for(lambda: photos(e2e, 1002), 60)
    assert photo.photo == e2e.fm.image_bytes
    assert "red fox" in (photo.caption or "")
    assert "upload_photo" in [action for _, action in e2e.tg.chat(1002).actions]
    [job] = await e2e.wait_for(
        lambda: [j for j in e2e.db.image_jobs() if j["status"] == "delivered"], 10
    )
    assert job["result_message_id"] == photo.message_id
    assert await e2e.bot.terminate() == 0
    assert e2e.db.check_consistency() == []
