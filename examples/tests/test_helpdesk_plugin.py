"""The helpdesk plugin (examples/helpdesk_plugin) set up on an App and tested with
bot.testing: its command answered from the staff directory (and logged in its own table,
created by its own migration), the employee's department in the prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import App
from bot.testing import BotTester
from examples.helpdesk_plugin.fmbot_helpdesk import plugin

EMPLOYEES = Path(__file__).resolve().parent.parent / "helpdesk_plugin" / "employees.csv"
ANNA = 7301


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("HELPDESK_EMPLOYEES_CSV", str(EMPLOYEES))
    app = App(env_file=None)
    app.add_feature(plugin(app))  # what FMBOT_PLUGINS=helpdesk does for an installed plugin
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
