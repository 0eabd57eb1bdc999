"""`python -m bot run` in KB_MODE=strict without a support desk: a "not found" answer names
the deployment's next step (KB_NOT_FOUND_CONTACT), carries 👍/👎 like every answer, and is
stored as the user saw it, never as the model's marker (issue 27, items 5 and 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.grounding.prompt import NOT_FOUND_MARKER, NOT_FOUND_TEXT
from tests.e2e.harness import E2E
from tests.e2e.test_knowledge_base import USER, ask, synced_runs
from tests.features.knowledge.conftest import FIXTURE_KB, FIXTURE_MIN_SCORE

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]

CONTACT = "Write to help@example.com"


def buttons(message: object) -> list[str]:
    markup = getattr(message, "reply_markup", None) or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_not_found_without_a_desk_names_the_next_step_and_takes_feedback(
    tmp_path: Path,
) -> None:
    env = {
        "KB_PATH": str(FIXTURE_KB), "KB_MODE": "strict", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE),
        "EMBEDDING_RPS": "200", "KB_NOT_FOUND_CONTACT": CONTACT,
    }
    workdir = tmp_path / "run"
    workdir.mkdir()
    async with E2E(workdir, extra_env=env) as e2e:
        await e2e.start_bot()
        await synced_runs(e2e, 1)
        answer = await ask(e2e, "Who won the football world cup in 2018?")
        assert answer.text == f"{NOT_FOUND_TEXT['en']}\n\n{CONTACT}"
        ru = await ask(e2e, "Кто выиграл чемпионат мира по футболу?", language_code="ru")
        assert ru.text == f"{NOT_FOUND_TEXT['ru']}\n\n{CONTACT}"
        # 👍/👎 under the answers, though there is no support chat.
        await e2e.wait_for(lambda: buttons(e2e.tg.chat(USER).find(answer.message_id)), 30)
        data = buttons(e2e.tg.chat(USER).find(answer.message_id))
        assert [d.rsplit(":", 1)[1] for d in data] == ["up", "down"]
        query = e2e.tg.send_callback_query(USER, answer.message_id, data[1])
        await e2e.wait_for(lambda: e2e.tg.callback_answers.get(str(query)), 30)
        assert e2e.tg.callback_answers[str(query)]["text"] == "Thank you for the feedback!"
        await e2e.wait_for(lambda: e2e.db.count("desk_turns", "feedback = -1") == 1, 30)
        assert await e2e.bot.terminate() == 0
    stored = [row["text"] for row in e2e.db.query(
        "SELECT text FROM messages WHERE role = 'assistant' ORDER BY id")]
    assert stored == [answer.text, ru.text]
    assert not any(NOT_FOUND_MARKER in text for text in stored)
