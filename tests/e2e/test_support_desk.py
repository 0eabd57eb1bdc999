"""The support desk end to end: ``python -m bot run`` against the fake Bot API (a forum
supergroup with topics, copyMessage(s), getChatMember) and the fake Yandex server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.testing.telegram.images import tiny_jpeg
from bot.testing.telegram.state import ChatMessage
from tests.e2e.harness import E2E
from tests.e2e.processes import bot_env
from tests.forkserver import run_module_async

pytestmark = [pytest.mark.process, pytest.mark.timeout(240)]

SUPPORT = -1001234567890
USER = 3001
OPERATOR = {"id": 501, "first_name": "Olga"}
COMPANY = -1005550000  # ALLOWED_CHAT_MEMBERS_OF: the company chat


def desk_env(**extra: str) -> dict[str, str]:
    return {
        "SUPPORT_CHAT_ID": str(SUPPORT), "CSAT": "on", "ALLOWED_CHAT_MEMBERS_OF": str(COMPANY),
        # The card's summary from the synchronous model, as before issue 26 (its deferred
        # summaries, drafts and gaps: test_desk_learns.py).
        "DESK_INSIGHTS": "off",
        **extra,
    }


def topic_messages(e2e: E2E, thread: int) -> list[ChatMessage]:
    return e2e.tg.topic_messages(SUPPORT, thread)


def copied(e2e: E2E, thread: int) -> list[str | None]:
    """What the bot posted in the topic after its card."""
    return [m.text for m in topic_messages(e2e, thread) if m.from_bot][1:]


def user_texts(e2e: E2E) -> list[str]:
    return e2e.texts(USER)


def completions(e2e: E2E) -> int:
    return sum(1 for p in e2e.fm.paths() if "completion" in p)


async def run_report(e2e: E2E, *args: str) -> str:
    env = bot_env(
        telegram_url=e2e.tg.url, fm_url=e2e.fm.url,
        database_url=f"sqlite+aiosqlite:///{e2e.db.path}", extra=desk_env(),
    )
    done = await run_module_async(
        ["bot", "report", *args], cwd=e2e.workdir, env=env, merge_stderr=True
    )
    assert done.returncode == 0, done.stdout
    return done.stdout


@pytest.fixture
async def desk(tmp_path: Path, request: pytest.FixtureRequest) -> E2E:  # type: ignore[misc]
    async with E2E(tmp_path, extra_env=desk_env()) as setup:
        setup.tg.add_forum(SUPPORT, "Support")
        setup.tg.add_member(SUPPORT, OPERATOR["id"])
        setup.tg.add_chat(COMPANY, "supergroup", title="Company")
        setup.tg.add_member(COMPANY, USER)
        yield setup
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            print(f"--- bot log:\n{setup.bot.log_tail(80)}")


async def test_full_round_handoff_relay_close_rating_report(desk: E2E) -> None:
    e2e = desk
    e2e.fm.queue_reply("I could not find anything about refunds.", chunks=2)
    await e2e.start_bot()
    # Only members of the company chat are served (getChatMember); operators write anyway.
    e2e.tg.send_user_message(3999, "hello")
    await e2e.wait_for(lambda: e2e.texts(3999), 30)
    assert e2e.texts(3999) == ["Sorry, this bot is private and not available to you."]
    e2e.tg.send_user_message(USER, "How do I get a refund for order 42?")
    await e2e.wait_for(lambda: any("refunds" in t for t in user_texts(e2e)), 30)

    # Handoff: the user is told at once; a topic named after the user gets the card.
    e2e.fm.queue_reply("The user wants a refund for order 42; the bot could not help.")
    e2e.tg.send_user_message(USER, "/operator")
    await e2e.wait_for(lambda: any("support team" in t for t in user_texts(e2e)), 30)
    topics = await e2e.wait_for(lambda: list(e2e.tg.topics.get(SUPPORT, {}).values()), 30)
    [topic] = topics
    assert "User3001" in topic.name
    assert str(USER) in topic.name
    [card] = await e2e.wait_for(lambda: topic_messages(e2e, topic.thread_id), 30)
    assert card.text is not None
    assert "Reason: the user asked for a person" in card.text
    assert "refund for order 42" in card.text  # the model's summary and the last messages
    buttons = [b["callback_data"] for row in card.reply_markup["inline_keyboard"] for b in row]
    assert any(b.startswith("desk:close:") for b in buttons)
    model_calls = completions(e2e)

    # The user's text and photo are copied into the topic; the bot stays silent.
    e2e.tg.send_user_message(USER, "It arrived broken")
    e2e.tg.send_user_photo(USER, tiny_jpeg(), "photo of the box")
    await e2e.wait_for(lambda: len(topic_messages(e2e, topic.thread_id)) >= 3, 30)
    copies = topic_messages(e2e, topic.thread_id)[1:]
    assert len(copies) == 2
    assert copies[0].text == "It arrived broken"
    assert copies[1].photo is not None
    assert copies[1].caption == "photo of the box"
    assert all(m.user is None for m in copies), "a copy carries no sender"

    # Operator replies reach the user; an internal note does not.
    shown = len(user_texts(e2e))
    e2e.tg.send_user_message(SUPPORT, "// check the warehouse first", user=OPERATOR,
                             thread_id=topic.thread_id)
    e2e.tg.send_user_message(SUPPORT, "Hello, I am sorry. A refund is on its way.",
                             user=OPERATOR, thread_id=topic.thread_id)
    await e2e.wait_for(lambda: "A refund is on its way" in " ".join(user_texts(e2e)), 30)
    await asyncio.sleep(1.0)
    new = user_texts(e2e)[shown:]
    assert new == ["Hello, I am sorry. A refund is on its way."]
    assert completions(e2e) == model_calls, "the bot answered while a person owned the chat"

    # /close: resolved, topic closed, the user asked to rate; the rating is stored once.
    e2e.tg.send_user_message(SUPPORT, "/close", user=OPERATOR, thread_id=topic.thread_id)
    rating = await e2e.wait_for(
        lambda: [m for m in e2e.tg.chat(USER).bot_messages if m.reply_markup
                 and "csat:" in str(m.reply_markup)], 30,
    )
    await e2e.wait_for(lambda: e2e.tg.topic(SUPPORT, topic.thread_id).closed, 30)
    case_id = rating[0].reply_markup["inline_keyboard"][0][4]["callback_data"].split(":")[1]
    e2e.tg.send_callback_query(USER, rating[0].message_id, f"csat:{case_id}:5")
    await e2e.wait_for(lambda: any("rated the help 5" in t for t in user_texts(e2e)), 30)
    e2e.tg.send_callback_query(USER, rating[0].message_id, f"csat:{case_id}:1")

    # A later message starts a new conversation with the bot.
    e2e.fm.queue_reply("Happy to help with anything else.")
    e2e.tg.send_user_message(USER, "One more question")
    await e2e.wait_for(lambda: "Happy to help with anything else." in user_texts(e2e), 30)
    assert await e2e.bot.terminate() == 0

    [row] = e2e.db.query("SELECT * FROM desk_cases WHERE handoff_at IS NOT NULL")
    assert (row["status"], row["resolution"], row["csat_score"]) == ("resolved", "closed", 5)
    relays = e2e.db.query("SELECT direction, state, target_message_id FROM desk_relays")
    assert sorted((r["direction"], r["state"]) for r in relays) == [
        ("to_topic", "done"), ("to_topic", "done"), ("to_user", "done"),
    ]
    assert all(r["target_message_id"] for r in relays)

    csv_path = e2e.workdir / "desk.csv"
    out = await run_report(e2e, "--days", "1", "--csv", str(csv_path))
    assert e2e.tg.calls_for(COMPANY, "getChatMember")
    assert "Conversations: 2" in out
    assert "Handed over to a person: 1 (50%)" in out
    assert "user_request: 1" in out
    assert "First operator reply, wall clock: median" in out
    assert "CSAT: 5.00 of 5 from 1 rating; response rate 100% (1 of 1 asked)" in out
    assert "within SUPPORT_HOURS: not set" in out
    lines = csv_path.read_text().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("conversation,")
    assert [c.method for c in e2e.tg.calls_for(SUPPORT) if c.status == 429] == []


async def test_restart_in_the_middle_of_relays_loses_and_duplicates_nothing(desk: E2E) -> None:
    e2e = desk
    await e2e.start_bot()
    e2e.tg.send_user_message(USER, "/operator")
    topics = await e2e.wait_for(lambda: list(e2e.tg.topics.get(SUPPORT, {}).values()), 30)
    thread = topics[0].thread_id
    await e2e.wait_for(lambda: topic_messages(e2e, thread), 30)  # the card

    # Both directions are held up by a 429 (retry after 8 s) while messages are recorded...
    e2e.tg.fail_next("copyMessage", 429, retry_after=8, chat_id=SUPPORT)
    e2e.tg.fail_next("copyMessage", 429, retry_after=8, chat_id=USER)
    for text in ("first", "second", "third"):
        e2e.tg.send_user_message(USER, text)
    e2e.tg.send_user_message(SUPPORT, "Operator here", user=OPERATOR, thread_id=thread)
    pending = "SELECT count(*) AS n FROM desk_relays WHERE state = 'pending'"
    await e2e.wait_for(lambda: e2e.db.query(pending)[0]["n"] == 4, 30)
    # ... and the bot is killed before it could send them.
    await e2e.bot.kill()
    assert copied(e2e, thread) == []

    await e2e.start_bot()
    await e2e.wait_for(lambda: len(copied(e2e, thread)) >= 3, 60)
    await e2e.wait_for(lambda: "Operator here" in user_texts(e2e), 60)
    await asyncio.sleep(1.5)  # anything duplicated would show up by now
    assert copied(e2e, thread) == ["first", "second", "third"]
    assert user_texts(e2e).count("Operator here") == 1
    rows = e2e.db.query("SELECT state, target_message_id FROM desk_relays")
    assert [r["state"] for r in rows] == ["done"] * 4
    assert all(r["target_message_id"] for r in rows)


async def test_run_with_a_support_chat_without_topics_says_so_and_strands_nobody(
    tmp_path: Path,
) -> None:
    """Issue 27, item 2, as a process: `run` logs that the chat has no Topics and starts; a
    user asking for a person hears nobody can see them, and the bot keeps answering."""
    async with E2E(tmp_path, extra_env={"SUPPORT_CHAT_ID": str(SUPPORT)}) as e2e:
        e2e.tg.add_chat(SUPPORT, "supergroup", title="Support")  # Topics off
        e2e.tg.set_member(SUPPORT, int(e2e.tg.token.split(":")[0]), "administrator",
                          can_manage_topics=True)
        await e2e.start_bot()
        assert "cannot take handoffs: the chat has no Topics" in e2e.bot.log_text()
        e2e.tg.send_user_message(USER, "/operator")
        told = await e2e.wait_for(lambda: [t for t in user_texts(e2e) if "support team" in t])
        assert "no person would see" in told[0]
        e2e.fm.queue_reply("We open at nine.")
        e2e.tg.send_user_message(USER, "When do you open?")
        await e2e.wait_for(lambda: "We open at nine." in user_texts(e2e))
        assert e2e.tg.calls_for(SUPPORT, "createForumTopic") == []
