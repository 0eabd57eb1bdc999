"""Issue 79: a plugin's features are checked by the same loops as fmbot's. With the example
plugin (examples/helpdesk_plugin) found by its entry point, `fmbot check` runs its settings
check (among the configuration's lines, as `run` refuses it) and checks its model (the models
line), beside fmbot's own."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cli import run_bot_async
from tests.conftest import REPO_ROOT
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels
from tests.framework.plugins import write_entry_point
from tests.operations.test_check import API_KEY, FOLDER, TOKEN

PLUGIN = REPO_ROOT / "examples" / "helpdesk_plugin"
TRIAGE = f"gpt://{FOLDER}/yandexgpt-lite/latest"  # the plugin's HELPDESK_TRIAGE_MODEL
SERVED = {f"gpt://{FOLDER}/yandexgpt/latest", f"gpt://{FOLDER}/gemma-3-27b-it/latest", TRIAGE}


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[TelegramServer, FakeFoundationModels]]:
    async with TelegramServer(TOKEN) as tg, FakeFoundationModels(
        api_key=API_KEY, folder_id=FOLDER
    ) as fm:
        fm.served_models = set(SERVED)
        # Served but not listed: `fmbot check` asks it for one token, so the test sees it.
        fm.unlisted_models = {TRIAGE}
        yield tg, fm


@pytest.fixture
def env(fakes: tuple[TelegramServer, FakeFoundationModels], tmp_path: Path) -> dict[str, str]:
    """The environment of a deployment with the helpdesk plugin installed (its package on
    the import path, its entry point declared as pip declares it) and named in FMBOT_PLUGINS."""
    tg, fm = fakes
    site = write_entry_point(tmp_path / "site", "helpdesk", "fmbot_helpdesk:FEATURE")
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(site), str(PLUGIN), str(REPO_ROOT)]),
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": tg.url,
        "YANDEX_API_KEY": API_KEY, "YANDEX_FOLDER_ID": FOLDER, "YANDEX_LLM_URL": fm.url,
        "YANDEX_OPERATION_URL": fm.url, "STT_URL": fm.url, "TTS_URL": fm.url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "SPEECH_RECOGNITION": "off",
        "FMBOT_PLUGINS": "helpdesk",
        "HELPDESK_EMPLOYEES_CSV": str(PLUGIN / "employees.csv"),
    }


def lines(output: str, name: str) -> list[str]:
    return [line for line in output.splitlines() if line[6:].startswith(f"{name}:")]


async def test_check_runs_the_plugins_settings_check_and_checks_its_model(
    env: dict[str, str], tmp_path: Path, fakes: tuple[TelegramServer, FakeFoundationModels]
) -> None:
    _tg, fm = fakes
    # The plugin's own settings, written in .env, are no misspelling of fmbot's.
    (tmp_path / ".env").write_text("HELPDESK_DAILY_LOOKUPS=20\n", encoding="utf-8")
    done = await run_bot_async(["check"], env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert lines(done.stdout, "variables") == [], done.stdout
    assert lines(done.stdout, "helpdesk") == [
        "ok    helpdesk: 2 employees in employees.csv; /whoami 20 a day each"], done.stdout
    [models] = lines(done.stdout, "models")
    assert "1 not listed but answered a probe" in models, done.stdout
    probes = [r.json["modelUri"] for r in fm.requests if r.path.endswith("/completion")
              and r.json["completionOptions"]["maxTokens"] == "1"]
    assert TRIAGE in probes  # the plugin's model, checked as fmbot's own are

    # The plugin's model is not served: the models line names the plugin's setting.
    retired = {**env, "HELPDESK_TRIAGE_MODEL": "yandexgpt-retired/latest"}
    done = await run_bot_async(["check"], env=retired, cwd=tmp_path)
    assert done.returncode == 1
    [models, fix] = [line.strip() for line in done.stdout.splitlines()
                     if line.startswith("FAIL  models") or line.strip().startswith(
                         "fix: set HELPDESK")]
    assert models.startswith("FAIL  models: HELPDESK_TRIAGE_MODEL=yandexgpt-retired/latest: "
                             "the API refuses")
    assert fix.startswith("fix: set HELPDESK_TRIAGE_MODEL to a model the folder serves")


async def test_check_and_run_refuse_what_the_plugins_settings_check_refuses(
    env: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "staff.csv"
    broken.write_text("id,name\n7301,Anna\n", encoding="utf-8")
    env = {**env, "HELPDESK_EMPLOYEES_CSV": str(broken)}
    done = await run_bot_async(["check"], env=env, cwd=tmp_path)
    assert done.returncode == 1
    refusal = f"HELPDESK_EMPLOYEES_CSV: {broken} has no column telegram_id, department"
    assert f"FAIL  configuration: {refusal}" in done.stdout.splitlines(), done.stdout
    # `run` refuses it in the same words before it starts anything (exit status 2).
    run = await run_bot_async(["run"], env=env, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines()[-1] == f"fmbot: {refusal}"


async def test_fmbot_settings_lists_the_plugins_section_composed_with_fmbots(
    env: dict[str, str], tmp_path: Path
) -> None:
    done = await run_bot_async(["settings"], env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    section = printed[printed.index("# ---- helpdesk (plugin) ----"):]
    assert section[1:7] == [
        "# The staff directory: `telegram_id,name,department`, with a header row. (required)",
        "HELPDESK_EMPLOYEES_CSV=",
        "# How many times an employee may use /whoami a day.",
        "HELPDESK_DAILY_LOOKUPS=20",
        "# The model `fmbot helpdesk triage` asks which department a request is for.",
        "HELPDESK_TRIAGE_MODEL=yandexgpt-lite/latest",
    ]
    assert "# ---- voice ----" in printed
    assert "TELEGRAM_BOT_TOKEN=" in printed

    # Its section is validated as fmbot's are: the variable named, the start refused.
    bad = {**env, "HELPDESK_DAILY_LOOKUPS": "0"}
    done = await run_bot_async(["check"], env=bad, cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert done.stderr.splitlines() == [
        "fmbot: HELPDESK_DAILY_LOOKUPS: Input should be greater than or equal to 1"]


def test_a_sections_descriptions_survive_its_file_imported_under_two_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The plugin's file imported as `fmbot_helpdesk` and as
    `examples.helpdesk_plugin.fmbot_helpdesk` in one process (a suite does both): pydantic's
    frame walk lost the fields' docstrings then, one fast-lane run in three."""
    import importlib
    import sys

    from bot.cli.settings import field_docstrings

    monkeypatch.syspath_prepend(str(PLUGIN))
    for name in [n for n in sys.modules if "fmbot_helpdesk" in n]:
        monkeypatch.delitem(sys.modules, name)
    importlib.import_module("examples.helpdesk_plugin.fmbot_helpdesk")
    plugin = importlib.import_module("fmbot_helpdesk")
    try:
        docs = field_docstrings(plugin.HelpdeskSettings)
    finally:
        for name in [n for n in sys.modules if "fmbot_helpdesk" in n]:
            del sys.modules[name]
    assert docs["daily_lookups"] == "How many times an employee may use /whoami a day."
    assert set(docs) == {"employees_csv", "daily_lookups", "triage_model"}
