"""The helpdesk example plugin, pip-installed and named in FMBOT_PLUGINS, in a bot run in
process (bot.testing): found through its entry point, its command answered and in the menu in
both languages, its context in the prompt and in the stored turn, its own table made by its own
migration, its tool waiting for the employee's press, its hooks' lines in the log.

That a SIGKILL between the command's receipt and its reply is replayed once, with the plugin
loaded in a real process, is tests/e2e/test_faults_process.py's."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import App
from bot.testing import BotTester, ScriptedModel
from tests.conftest import REPO_ROOT

PLUGIN = REPO_ROOT / "examples" / "helpdesk_plugin"
ANNA, STRANGER = 7301, 7399


@pytest.fixture(scope="module")
def helpdesk_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin `pip install`ed into a folder of its own, offline (no index, this venv's
    setuptools), built from a copy: pip builds in the source tree."""
    site = tmp_path_factory.mktemp("helpdesk-site")
    source = tmp_path_factory.mktemp("helpdesk-source") / "helpdesk_plugin"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--no-index", "--target", str(site), str(source)],
        check=True, capture_output=True, timeout=120,
    )
    return site


@pytest.fixture
def installed(helpdesk_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder on the import path, as PYTHONPATH puts it for a process; the example's own
    package (examples.helpdesk_plugin) is not the module found."""
    monkeypatch.syspath_prepend(str(helpdesk_site))
    for name in [n for n in sys.modules if n.split(".")[0] == "fmbot_helpdesk"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setenv("HELPDESK_EMPLOYEES_CSV", str(PLUGIN / "employees.csv"))
    return helpdesk_site


def rows(tester: BotTester, query: str) -> list[tuple[object, ...]]:
    assert tester.settings is not None
    path = tester.settings.database_url.split(":///", 1)[1]
    with sqlite3.connect(path) as db:
        return db.execute(query).fetchall()


@pytest.mark.slow
async def test_the_installed_plugin_answers_remembers_and_waits_for_the_press(
    installed: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    model = ScriptedModel(otherwise="Finance files expenses in the ledger.")
    model.when("laptop").call("open_it_ticket", summary="Laptop broken").answer(
        "I opened ticket HD-1 for you.")
    app = App(env_file=None)
    async with BotTester(app, model=model, settings={"FMBOT_PLUGINS": "helpdesk"}) as tester:
        anna = tester.user("Anna", id=ANNA)
        assert (await anna.says("/whoami")).text == "You are Anna Petrova, Finance department."
        stranger = tester.user("Stranger", id=STRANGER, language="ru")
        assert (await stranger.says("/whoami")).text.startswith("Вас пока нет в справочнике")
        reply = await anna.says("How do I file expenses?")
        assert reply.text == "Finance files expenses in the ledger."
        assert "Anna Petrova from the Finance department" in model.asked[-1].system
        menus = {
            call.params.get("language_code"): {
                item["command"]: item["description"] for item in call.params["commands"]
            }
            for call in tester.telegram.sent if call.method == "setMyCommands"
        }
        assert menus[None]["whoami"] == "Who I am in the staff directory"
        assert menus["ru"]["whoami"] == "Кто я в справочнике сотрудников"
        assert {"start", "help", "reset"} <= set(menus["ru"]), "next to fmbot's own"
        assert rows(tester, "SELECT context_providers FROM messages WHERE role = 'assistant'") \
            == [('["helpdesk.department"]',)]
        # Its own table, made by its own migration, written in fmbot's session of the update.
        assert rows(tester, "SELECT telegram_id FROM helpdesk_whoami_log ORDER BY id") == [
            (ANNA,), (STRANGER,)]
        assert ("helpdesk_0001",) in rows(tester, "SELECT version_num FROM alembic_version")
        # Its tool writes, so the model's call waits for the employee's press.
        card = await anna.says("My laptop does not start")
        assert "open_it_ticket" in card.text
        assert not any("ticket HD-1" in m for m in caplog.messages), "nothing before the press"
        done = await anna.presses("Confirm")
        assert done.text == "I opened ticket HD-1 for you."
    log = caplog.messages
    assert "helpdesk: answered 7301 (tools: open_it_ticket)" in log
    assert "helpdesk: ticket HD-1 for 7301 (Finance): Laptop broken" in log
    assert app.plugins == ("helpdesk",), "found through its entry point"


@pytest.mark.slow
def test_the_feature_it_ships_has_its_part_of_the_report(installed: Path, tmp_path: Path) -> None:
    """The plugin's entry point returns a Feature: `fmbot report` prints its part (its own
    table read), as it prints fmbot's features' parts."""
    import os

    from tests.cli import run_bot

    database = tmp_path / "bot.db"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{installed}{os.pathsep}{REPO_ROOT}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "FMBOT_PLUGINS": "helpdesk",
        "HELPDESK_EMPLOYEES_CSV": str(PLUGIN / "employees.csv"),
    }
    assert run_bot(["migrate"], cwd=tmp_path, env=env).returncode == 0
    with sqlite3.connect(database) as db:
        db.executemany("INSERT INTO helpdesk_whoami_log (telegram_id) VALUES (?)",
                       [(ANNA,), (ANNA,), (STRANGER,)])
    done = run_bot(["report", "--days", "7"], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "Helpdesk, last 7 days: 3 /whoami lookups by 2 employees" in done.stdout
    assert "Tools (last 7 days)" in done.stdout, "beside fmbot's own parts"
    # The command the plugin's feature ships, on fmbot's command line beside fmbot's own.
    done = run_bot(["helpdesk", "lookups", "--days", "7"], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "/whoami lookups, last 7 days: 3",
        f"  {ANNA}  Anna Petrova (Finance): 2",
        f"  {STRANGER}  not in the directory: 1",
    ]
    listed = run_bot(["--help"], cwd=tmp_path, env=env)
    assert listed.returncode == 0
    assert "the helpdesk plugin's commands" in listed.stdout
    assert "report" in listed.stdout
    # Without the plugin set up, the command is unknown (argparse's refusal, exit code 2).
    unknown = run_bot(["helpdesk", "lookups"], cwd=tmp_path, env=env | {"FMBOT_PLUGINS": ""})
    assert unknown.returncode == 2
    assert "invalid choice: 'helpdesk'" in unknown.stderr


def test_a_plugins_command_named_as_one_of_fmbots_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A feature the App adds may not take the word of one of fmbot's commands: the line is
    refused naming the feature, before anything runs."""
    from bot import Command, Feature
    from bot.app import parts_of
    from bot.cli.dispatch import EXIT_CONFIG, run_app

    async def nothing(_ctx: object, _args: object) -> int:
        return 0

    clash = Command("report", lambda commands: [commands.add_parser("report")], nothing)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # what run_app sets for the process
    app = App(env_file=None)
    app.add_feature(Feature(name="clashing", commands=lambda: [clash]))
    assert run_app(parts_of(app), ["report"]) == EXIT_CONFIG
