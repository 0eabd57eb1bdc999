"""The support desk, the bot as `run` builds it against the fake Bot API (a forum supergroup
with topics, copyMessage(s), getChatMember) and the fake Yandex server over loopback, in the
test's process: `run` with a support chat without Topics says so and strands nobody. A kill
in the middle of relays loses and duplicates nothing: test_faults_process.py (the bot as a
process: the SIGKILL is the subject). The full round (handoff, relays, close, rating, report) is
tested in process: tests/features/desk/test_handoff_round.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import E2E

pytestmark = [pytest.mark.timeout(240)]

SUPPORT = -1001234567890
USER = 3001


def user_texts(e2e: E2E) -> list[str]:
    return e2e.texts(USER)


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
