"""A full round at the support desk, in process: only members of the company chat are served;
/operator opens a topic named after the user with a card (reason, the model's summary, a close
button); the user's text and photo are copied into the topic while the bot keeps quiet; an
operator's reply reaches the user and an internal note does not; /close resolves the case,
closes the topic and asks for a rating, stored once; a later message starts a new conversation;
`fmbot report` counts it all (its entry point called in process, tests/cli.py). Was
tests/e2e/test_support_desk.py's first test, with the bot as a process (the restart mid-relays
and `run` with a support chat without Topics stay there)."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest
from aiogram.types import Chat, Message, Update
from PIL import Image

from bot import App
from bot.testing import BotTester, ServiceModel, TestUser
from tests.cli import run_bot_async
from tests.features.sending import photo, press_data, rows, shown

pytestmark = [pytest.mark.timeout(120)]

SUPPORT = -1001234567890
COMPANY = -1005550000  # ALLOWED_CHAT_MEMBERS_OF: the company chat
SETTINGS = {"SUPPORT_CHAT_ID": str(SUPPORT), "CSAT": "on",
            "ALLOWED_CHAT_MEMBERS_OF": str(COMPANY), "DESK_INSIGHTS": "off"}


def completions(model: ServiceModel) -> int:
    return sum(1 for r in model.service.requests if "completion" in r.path)


async def in_topic(tester: BotTester, operator: TestUser, thread: int, text: str) -> int:
    """`operator` writes `text` in the topic `thread`; the message's id."""
    chat = Chat(id=SUPPORT, type="supergroup", title="Support", is_forum=True)
    message_id = tester.telegram.next_message_id(SUPPORT)
    await tester.exchange(SUPPORT, Update(update_id=tester.next_update_id(), message=Message(
        message_id=message_id, date=dt.datetime.now(dt.UTC), chat=chat,
        from_user=operator.telegram_user(), text=text, message_thread_id=thread,
        is_topic_message=True)))
    return message_id


def tiny_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 30, 30)).save(out, "JPEG")
    return out.getvalue()


async def report(tester: BotTester, cwd: Path, *args: str) -> str:
    """`fmbot report` on the tester's database: the command line's own entry point, with the
    environment a process would have (tests/cli.py), beside the tester's loop."""
    assert tester.settings is not None
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    env.update(SETTINGS, DATABASE_URL=tester.settings.database_url, YANDEX_API_KEY="test-key",
               YANDEX_FOLDER_ID="test-folder", TELEGRAM_BOT_TOKEN="1:x", LOG_FORMAT="json")
    done = await run_bot_async(["report", *args], env=env, cwd=cwd, merge_stderr=True)
    assert done.returncode == 0, done.stdout
    return done.stdout


@pytest.mark.slow
async def test_full_round_handoff_relay_close_rating_report(tmp_path: Path) -> None:
    model = ServiceModel()
    fm = model.service
    async with BotTester(App(env_file=None), model=model, settings=SETTINGS) as tester:
        anna, stranger, olga = tester.user("Anna"), tester.user("Zed"), tester.user("Olga")
        tester.telegram.set_member(COMPANY, anna.id)  # Zed is not a member
        tester.telegram.set_member(SUPPORT, olga.id)

        # Only members of the company chat are served (getChatMember).
        refused = await stranger.says("hello")
        assert refused.text == "Sorry, this bot is private and not available to you."
        fm.queue_reply("I could not find anything about refunds.", chunks=2)
        assert "refunds" in (await anna.says("How do I get a refund for order 42?")).text

        # Handoff: the user is told at once; a topic named after the user gets the card.
        fm.queue_reply("The user wants a refund for order 42; the bot could not help.")
        told = await anna.says("/operator")
        assert "support team" in told.text
        [topic] = [c for c in tester.sent if c.method == "createForumTopic"]
        assert topic.chat_id == SUPPORT
        assert "Anna" in topic.params["name"]
        assert str(anna.id) in topic.params["name"]
        [card_call] = [c for c in tester.sent if c.chat_id == SUPPORT
                       and c.method == "sendMessage"]
        thread = int(card_call.params["message_thread_id"])
        card = next(m for m in shown(tester, SUPPORT) if m.text)
        assert "Reason: the user asked for a person" in card.text
        assert "refund for order 42" in card.text  # the model's summary and the last messages
        data = [b["callback_data"] for row in card.buttons for b in row]
        assert any(d.startswith("desk:close:") for d in data)
        model_calls = completions(model)

        # The user's text and photo are copied into the topic; the bot stays silent.
        await anna.says("It arrived broken")
        await photo(tester, anna, [tiny_jpeg()], "photo of the box")
        copies = [c for c in tester.sent if c.chat_id == SUPPORT and c.method == "copyMessage"]
        assert [(c.params["from_chat_id"], c.params.get("message_thread_id")) for c in copies] \
            == [(anna.id, thread), (anna.id, thread)]
        assert [m.text for m in shown(tester, anna.id)][-1] == told.text, "the bot is silent"

        # Operator replies reach the user; an internal note does not.
        await in_topic(tester, olga, thread, "// check the warehouse first")
        reply = await in_topic(tester, olga, thread, "Hello, I am sorry. A refund is on its way.")
        relayed = [c for c in tester.sent if c.chat_id == anna.id and c.method == "copyMessage"]
        assert [(int(c.params["from_chat_id"]), c.params["message_id"]) for c in relayed] == \
            [(SUPPORT, reply)]
        assert completions(model) == model_calls, "the bot answered while a person owned it"

        # /close: resolved, topic closed, the user asked to rate; the rating is stored once.
        await in_topic(tester, olga, thread, "/close")
        assert [c.params["message_thread_id"] for c in tester.sent
                if c.method == "closeForumTopic"] == [thread]
        rating = next(m for m in shown(tester, anna.id)
                      if any("csat:" in b["callback_data"] for row in m.buttons for b in row))
        case = rating.buttons[0][4]["callback_data"].split(":")[1]
        await press_data(tester, anna, rating, f"csat:{case}:5")
        assert "rated the help 5" in rating.text
        await press_data(tester, anna, rating, f"csat:{case}:1")  # stored once: the first

        # A later message starts a new conversation with the bot.
        fm.queue_reply("Happy to help with anything else.")
        later = await anna.says("One more question")
        assert later.text == "Happy to help with anything else."

        [row] = await rows(tester, "SELECT * FROM desk_cases WHERE handoff_at IS NOT NULL")
        assert (row["status"], row["resolution"], row["csat_score"]) == \
            ("resolved", "closed", 5)
        relays = await rows(tester, "SELECT direction, state, target_message_id "
                                    "FROM desk_relays")
        assert sorted((r["direction"], r["state"]) for r in relays) == [
            ("to_topic", "done"), ("to_topic", "done"), ("to_user", "done")]
        assert all(r["target_message_id"] for r in relays)
        assert [c for c in tester.sent if c.method == "getChatMember"
                and c.chat_id == COMPANY]

        csv_path = tmp_path / "desk.csv"
        out = await report(tester, tmp_path, "--days", "1", "--csv", str(csv_path))
    assert "Conversations: 2" in out
    assert "Handed over to a person: 1 (50%)" in out
    assert "user_request: 1" in out
    assert "First operator reply, wall clock: median" in out
    assert "CSAT: 5.00 of 5 from 1 rating; response rate 100% (1 of 1 asked)" in out
    assert "within SUPPORT_HOURS: not set" in out
    lines = csv_path.read_text().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("conversation,")


async def test_a_request_for_a_person_in_a_longer_sentence_hands_over() -> None:
    """Nine words, the request in its second clause: handed to a person, no model answer."""
    model = ServiceModel()
    settings = {"SUPPORT_CHAT_ID": str(SUPPORT), "DESK_INSIGHTS": "off"}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        anna = tester.user("Anna")
        model.service.queue_reply("The parcel came crushed; the user wants a person.")
        told = await anna.says("My parcel came crushed, I want a human now!")
        assert "support team" in told.text
        [topic] = [c for c in tester.sent if c.method == "createForumTopic"]
        assert topic.chat_id == SUPPORT
        [row] = await rows(tester, "SELECT handoff_reason FROM desk_cases "
                                    "WHERE handoff_at IS NOT NULL")
        assert row["handoff_reason"] == "user_request"


async def test_after_bot_the_model_reads_the_operators_reply_and_nothing_was_left_out() -> None:
    """/bot hands back: the next model request holds what the operator wrote, and the answer
    carries no "older messages were left out" note in a chat of a few messages."""
    model = ServiceModel()
    settings = {"SUPPORT_CHAT_ID": str(SUPPORT), "DESK_INSIGHTS": "off"}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        anna, olga = tester.user("Anna"), tester.user("Olga")
        tester.telegram.set_member(SUPPORT, olga.id)
        # The first thing Anna writes asks for a person: the operator answers first.
        model.service.queue_reply("The user asks for a person about order 42.")
        await anna.says("I want a human about my order 42")
        [card_call] = [c for c in tester.sent if c.chat_id == SUPPORT
                       and c.method == "sendMessage"]
        thread = int(card_call.params["message_thread_id"])
        await in_topic(tester, olga, thread, "Your order 42 leaves the warehouse on Friday.")
        await in_topic(tester, olga, thread, "/bot")
        thanks = await anna.says("Thank you")
        # Nothing was left out of this short chat: no note says so.
        assert "Older messages were left out" not in thanks.text
        model.service.queue_reply("It leaves on Friday, as my colleague said.")
        later = await anna.says("And which day does it leave again?")
        asked = [r.json for r in model.service.requests if "completion" in r.path][-1]
    said = [m.get("text", "") for m in asked["messages"]]
    assert "Your order 42 leaves the warehouse on Friday." in said
    assert said[-1] == "And which day does it leave again?"
    assert later.text == "It leaves on Friday, as my colleague said."


async def test_a_comment_typed_after_a_rating_is_the_ratings_comment() -> None:
    """Rated, then a remark typed without pressing "Add a comment": it is the rating's comment
    (posted in the topic, never answered by the model, so never a knowledge-base gap); a
    question after a rating is still answered."""
    model = ServiceModel()
    settings = {"SUPPORT_CHAT_ID": str(SUPPORT), "CSAT": "on", "DESK_INSIGHTS": "off"}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        anna, olga = tester.user("Anna"), tester.user("Olga")
        tester.telegram.set_member(SUPPORT, olga.id)
        model.service.queue_reply("The user asks for a person.")
        await anna.says("/operator")
        [card_call] = [c for c in tester.sent if c.chat_id == SUPPORT
                       and c.method == "sendMessage"]
        thread = int(card_call.params["message_thread_id"])
        await in_topic(tester, olga, thread, "Your refund is on its way.")
        await in_topic(tester, olga, thread, "/close")
        rating = next(m for m in shown(tester, anna.id)
                      if any("csat:" in b["callback_data"] for row in m.buttons for b in row))
        case = rating.buttons[0][4]["callback_data"].split(":")[1]
        await press_data(tester, anna, rating, f"csat:{case}:2")
        model_calls = completions(model)
        thanks = await anna.says("The courier was rude though")
        assert thanks.text == "Thank you for the comment: the team will read it."
        assert completions(model) == model_calls, "not a question for the model"
        [row] = await rows(tester, "SELECT csat_score, csat_comment FROM desk_cases")
        assert (row["csat_score"], row["csat_comment"]) == (2, "The courier was rude though")
        posted = [c for c in tester.sent if c.chat_id == SUPPORT and c.method == "sendMessage"
                  and "The courier was rude though" in str(c.params.get("text"))]
        assert posted, "the operators see the comment in the topic"
        # Only the first message after the rating: the next one is the chat's again.
        model.service.queue_reply("Returns take up to 14 days.")
        later = await anna.says("And how long do returns take?")
        assert later.text == "Returns take up to 14 days."
