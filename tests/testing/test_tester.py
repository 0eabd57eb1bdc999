"""bot.testing's BotTester, tested on Apps built here: what a user would see (a confirmation
card with two buttons whose tool runs only after the press, the knowledge base's citations
in `reply.sources`, a context provider that raises logged and not fatal), commands and
routers, groups, documents, photos and voice notes, and every Bot API call in `tester.sent`."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot import App, ToolContext
from bot.testing import BotTester, BotTesterError, EchoModel, ScriptedModel

pytestmark = [pytest.mark.timeout(60)]


def shop() -> tuple[App, list[str]]:
    """An App with a read tool, a write tool behind a confirmation, and a command."""
    app = App(env_file=None)
    opened: list[str] = []

    @app.tool
    async def order_status(ctx: ToolContext, order_id: str) -> dict[str, str]:
        """Look up an order."""
        return {"order_id": order_id, "status": "shipped"}

    @app.tool(confirm=True, title="Open a ticket")
    async def open_ticket(ctx: ToolContext, subject: str) -> str:
        """Open a support ticket."""
        opened.append(subject)
        return "ticket T-1 opened"

    router = Router(name="shop")

    @router.message(Command("ping"))
    async def ping(message: Message) -> None:
        """Check that the bot answers"""
        await message.answer("pong")

    app.include_router(router)
    return app, opened


@pytest.mark.slow
async def test_a_question_is_answered_and_every_call_is_recorded() -> None:
    app, _ = shop()
    async with BotTester(app) as tester:
        anna = tester.user("Anna")
        reply = await anna.says("Hello, bot")
        assert reply.text == "Hello, bot"  # EchoModel
        assert reply.status == "complete"
        assert reply.tool_calls == ()
        assert [m.chat_id for m in reply.messages] == [anna.id]
        methods = [call.method for call in tester.sent]
        assert "setMyCommands" in methods
        assert methods[-1] == "sendMessage"
        assert reply.calls[-1].params["text"] == "Hello, bot"
        assert (await anna.says("/ping")).text == "pong"
        assert len(tester.model.requests) == 1, "ping ran no turn"


async def test_a_read_tool_is_called_and_its_result_reaches_the_answer() -> None:
    app, _ = shop()
    model = ScriptedModel()
    model.when("A-1").call("order_status", order_id="A-1").answer("Order: {result}")
    async with BotTester(app, model=model) as tester:
        reply = await tester.user().says("Where is my order A-1?")
    (call,) = reply.tool_calls
    assert (call.name, dict(call.arguments), call.outcome) == ("order_status",
                                                                {"order_id": "A-1"}, "ok")
    assert reply.text == 'Order: {"order_id": "A-1", "status": "shipped"}'
    assert reply.drafts, "the answer streamed"


async def test_a_confirmed_tool_shows_two_buttons_and_runs_only_after_the_press() -> None:
    app, opened = shop()
    model = ScriptedModel()
    model.when("broken").call("open_ticket", subject="Broken kettle").answer("Done: {result}")
    async with BotTester(app, model=model) as tester:
        anna = tester.user("Anna")
        card = await anna.says("My kettle is broken")
        assert len(card.buttons) == 2
        assert "Confirm" in card.buttons[0]
        assert "Cancel" in card.buttons[1]
        assert card.status == "waiting"
        assert "Open a ticket" in card.text
        assert opened == [], "nothing runs before the press"
        done = await anna.presses("Confirm")
        assert opened == ["Broken kettle"]
        assert done.text.endswith("Done: ticket T-1 opened")
        assert [c.outcome for c in done.tool_calls] == ["ok"]
        assert done.status == "complete"
        with pytest.raises(BotTesterError, match="no button 'Confirm'"):
            await anna.presses("Confirm")  # the card's buttons are gone


@pytest.mark.slow
async def test_cancel_declines_the_call() -> None:
    app, opened = shop()
    model = ScriptedModel()
    model.when("broken").call("open_ticket", subject="Broken").answer("Not opened.")
    async with BotTester(app, model=model) as tester:
        anna = tester.user()
        await anna.says("It is broken")
        cancelled = await anna.presses("Cancel")
    assert opened == []
    assert [c.outcome for c in cancelled.tool_calls] == ["declined"]


@pytest.mark.slow
async def test_knowledge_base_citations_are_in_the_sources(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "delivery.md").write_text(
        "# Delivery\n\nOrders ship from Kazan within one working day. Delivery takes two "
        "to five working days.\n", encoding="utf-8")
    (kb / "warranty.md").write_text(
        "# Warranty\n\nKettles have a two-year warranty.\n", encoding="utf-8")
    model = ScriptedModel()
    model.when("deliver").answer("Delivery takes two to five working days [1].")
    app = App(env_file=None)
    async with BotTester(app, model=model, settings={"KB_PATH": str(kb)}) as tester:
        reply = await tester.user().says("How long does delivery take?")
    assert reply.sources, "the answer was grounded on the knowledge base"
    first = reply.sources[0]
    assert first.path.endswith("delivery.md")
    assert first.cited
    assert "Delivery" in first.title
    system = tester.model.requests[-1]["messages"][0]["text"]
    assert "Orders ship from Kazan" in system


async def test_a_context_provider_that_raises_is_logged_and_the_turn_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App(env_file=None)

    @app.context
    async def broken(ctx: ToolContext) -> str | None:
        raise RuntimeError("the CRM is down")

    @app.context
    async def plan(ctx: ToolContext) -> str | None:
        return f"The customer {ctx.user_id} is on the Gold plan."

    with caplog.at_level(logging.ERROR):
        async with BotTester(app) as tester:
            anna = tester.user()
            reply = await anna.says("What is my plan?")
    assert reply.text == "What is my plan?"
    assert reply.status == "complete"
    failures = [r for r in caplog.records if "broken" in r.getMessage()]
    assert failures
    assert "the CRM is down" in failures[0].getMessage()
    system = tester.model.requests[0]["messages"][0]["text"]
    assert f"The customer {anna.id} is on the Gold plan." in system


async def test_groups_answer_a_mention_and_files_reach_the_bot(tmp_path: Path) -> None:
    app = App(env_file=None)
    async with BotTester(app, model=EchoModel()) as tester:
        anna, boris = tester.user("Anna"), tester.user("Boris", language="ru")
        team = tester.group("Team")
        reply = await team.says(anna, "@fmbot_test_bot what is new?")
        assert reply.messages
        assert reply.messages[0].chat_id == team.id
        assert "what is new?" in reply.text
        notes = tmp_path / "notes.txt"
        notes.write_text("The meeting moved to Friday at 10:00.", encoding="utf-8")
        read = await boris.sends_document(notes, caption="When is the meeting?")
        assert read.messages, "the document was read and answered"
        assert any(c.method == "getFile" for c in tester.sent)


async def test_a_voice_note_is_transcribed_and_answered() -> None:
    app = App(env_file=None)
    async with BotTester(app, settings={"SPEECH_RECOGNITION": "on"}) as tester:
        reply = await tester.user().says("warm up")
        assert reply.text == "warm up"
        heard = await tester.user("Vera").sends_voice("Where is my parcel?")
    assert "Where is my parcel?" in heard.text
    assert [m.kind for m in heard.messages][-1] == "voice", "answered in voice too (mirror)"
    assert any(c.method == "sendVoice" for c in tester.sent)


@pytest.mark.slow
async def test_a_photo_goes_to_the_vision_model(tmp_path: Path) -> None:
    from PIL import Image

    photo = tmp_path / "receipt.jpg"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo, "JPEG")
    model = ScriptedModel()
    model.when("receipt").answer("A red receipt.")
    async with BotTester(App(env_file=None), model=model) as tester:
        reply = await tester.user().sends_photo(photo, caption="What is on this receipt?")
    assert reply.text == "A red receipt."
    vision = tester.model.requests[-1]
    assert vision["model"].endswith("gemma-3-27b-it/latest"), "the OpenAI-compatible vision model"
    parts = vision["messages"][-1]["content"]
    assert any(p.get("type") == "image_url" for p in parts)


async def test_an_album_is_sent_as_one_delivery_and_answered_once(tmp_path: Path) -> None:
    from PIL import Image

    paths = []
    for name, color in (("front", (200, 30, 30)), ("back", (30, 30, 200))):
        path = tmp_path / f"{name}.jpg"
        Image.new("RGB", (64, 48), color).save(path, "JPEG")
        paths.append(path)
    model = ScriptedModel()
    model.when("both sides").answer("Two sides of one receipt.")
    async with BotTester(App(env_file=None), model=model) as tester:
        reply = await tester.user().sends_album(paths, caption="What do both sides say?")
    assert reply.text == "Two sides of one receipt."
    [vision] = [r for r in tester.model.requests if "gemma" in str(r.get("model"))]
    parts = vision["messages"][-1]["content"]
    assert sum(p.get("type") == "image_url" for p in parts) == 2, "one question, both photos"


async def test_the_support_desk_takes_a_handoff_in_the_testers_telegram() -> None:
    # The deployment's support chat is a forum (fmbot check proves it in production), so the
    # desk works in the tester as it does live: /operator opens a topic in the support chat.
    support = -1001234567890
    async with BotTester(App(env_file=None), model=EchoModel(),
                         settings={"SUPPORT_CHAT_ID": support}) as tester:
        reply = await tester.user("Anna").says("/operator")
        topics = [call for call in tester.sent if call.method == "createForumTopic"]
    assert [call.params["chat_id"] for call in topics] == [support]
    assert "no person" not in reply.text.lower()


async def test_a_restart_keeps_what_was_stored_and_the_chat() -> None:
    """`restart()`: a new bot on the same database and Telegram: the conversation's history
    carries on (the model is given the earlier turn), the chat's messages stay."""
    from bot.testing import ScriptedModel

    model = ScriptedModel("Noted.")
    async with BotTester(App(env_file=None), model=model) as tester:
        anna = tester.user("Anna")
        await anna.says("My order is A-1.")
        before = tester.built
        await tester.restart()
        assert tester.built is not before
        await anna.says("What was my order?")
        assert "My order is A-1." in [m.get("text") for m in model.asked[-1].messages]
        assert len([c for c in tester.sent if c.method == "sendMessage"]) == 2
