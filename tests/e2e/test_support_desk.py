"""The support desk, the bot as `run` builds it against the fake Bot API (a forum supergroup
with topics, copyMessage(s), getChatMember) and the fake Yandex server over loopback. A
restart in the middle of relays loses and duplicates nothing (as a process: the SIGKILL is
the subject); `run` with a support chat without Topics says so and strands nobody (in the
test's process). The full round (handoff, relays, close, rating, report) is
tested in process: tests/features/desk/test_handoff_round.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.testing.telegram.state import ChatMessage
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.timeout(240)]

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


@pytest.mark.process
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
    """Issue 27, item 2, as `run` builds the bot (in the test's process): it logs that the
    chat has no Topics and starts; a user asking for a person hears nobody can see them, and
    the bot keeps answering."""
    async with E2E(tmp_path, extra_env={"SUPPORT_CHAT_ID": str(SUPPORT)},
                   in_process=True) as e2e:
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
