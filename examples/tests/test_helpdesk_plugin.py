"""The helpdesk plugin's feature (examples/helpdesk_plugin) added to an App and tested with
bot.testing: its command answered from the staff directory (and logged in its own table,
created by its own migration), counted per employee per day up to its setting, its lines in
/help and /stats, the employee's department in the prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import App
from bot.testing import BotTester
from examples.helpdesk_plugin.fmbot_helpdesk import FEATURE

EMPLOYEES = Path(__file__).resolve().parent.parent / "helpdesk_plugin" / "employees.csv"
ANNA = 7301


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("HELPDESK_EMPLOYEES_CSV", str(EMPLOYEES))
    monkeypatch.setenv("HELPDESK_DAILY_LOOKUPS", "2")
    app = App(env_file=None)
    app.add_feature(FEATURE)  # what FMBOT_PLUGINS=helpdesk does for an installed plugin
    return app


async def test_whoami_and_the_department_in_the_prompt(app: App) -> None:
    async with BotTester(app) as tester:
        anna = tester.user("Anna", id=ANNA)
        assert (await anna.says("/whoami")).text == "You are Anna Petrova, Finance department."
        stranger = tester.user("Stranger", language="ru")
        unknown = await stranger.says("/whoami")
        assert unknown.text.startswith("Вас пока нет в справочнике")
        reply = await anna.says("How do I file expenses?")
    assert reply.text == "How do I file expenses?"
    system = tester.model.asked[0].system
    assert "Anna Petrova from the Finance department" in system


async def test_whoami_is_counted_per_employee_per_day_and_shown_by_stats_and_help(
    app: App,
) -> None:
    async with BotTester(app) as tester:
        anna = tester.user("Anna", id=ANNA)
        boris = tester.user("Boris", language="ru")
        assert "/whoami: who you are in the staff directory (2 a day)" in (
            await anna.says("/help")).text
        assert "Staff directory lookups today: 0 of 2" in (await anna.says("/stats")).text
        await anna.says("/whoami")
        await anna.says("/whoami")
        # HELPDESK_DAILY_LOOKUPS=2: the third of the day is refused, Anna's count alone.
        refused = await anna.says("/whoami")
        assert refused.text == "/whoami answers 2 times a day: try again tomorrow."
        assert "Staff directory lookups today: 2 of 2" in (await anna.says("/stats")).text
        assert (await boris.says("/whoami")).text.startswith("Вас пока нет в справочнике")
        assert "Запросов к справочнику сегодня: 1 из 2" in (await boris.says("/stats")).text
