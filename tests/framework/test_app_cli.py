"""`python -m bot <command> --app module:attr` and `FMBOT_PLUGINS`: one clear line for every
mistake, a plugin's own migrations applied by `migrate`. The commands run in this process
(tests/cli.py); the `fmbot` script beside a project's own `bot.py`, in a fresh interpreter,
is tests/e2e/test_entry_points.py's."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import textwrap
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import App, AppError, ToolContext, cli
from bot.config import ConfigError
from bot.storage.migrations import head_revision
from tests.cli import run_bot
from tests.conftest import REPO_ROOT
from tests.framework.plugins import NOTES_MIGRATION, write_plugin


def run_cli(
    *args: str, cwd: Path, path: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "YANDEX_"))}
    clean.update(env)
    clean["PYTHONPATH"] = os.pathsep.join(str(p) for p in (path, REPO_ROOT) if p is not None)
    # Its own argv, environment, working directory and exit status, in this process: a fresh
    # interpreter's start is the wheel test's and the process tests' below to prove.
    return run_bot(args, cwd=cwd, env=clean)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_module_that_does_not_import_is_one_line(tmp_path: Path) -> None:
    line = one_line(run_cli("run", "--app", "nosuchbot:app", cwd=tmp_path))
    assert line.startswith("fmbot: --app nosuchbot:app: cannot import module 'nosuchbot'")
    assert "No module named 'nosuchbot'" in line


def test_a_module_that_raises_names_its_line(tmp_path: Path) -> None:
    source = "from bot import App\n\napp = App.from_env(\n)\n1 / 0\n"
    (tmp_path / "brokenbot.py").write_text(source)
    line = one_line(run_cli("check", "--app", "brokenbot:app", cwd=tmp_path))
    assert "cannot import module 'brokenbot' (line 5): ZeroDivisionError" in line


def test_an_attribute_that_is_not_an_app_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "mybot.py").write_text("def app() -> None: ...\nbot = 1\n")
    line = one_line(run_cli("migrate", "--app=mybot:app", cwd=tmp_path))
    assert line == "fmbot: --app mybot:app: mybot.app is a function, not a bot.App " \
        "(make it with App.from_env())"
    line = one_line(run_cli("migrate", "--app", "mybot:nothing", cwd=tmp_path))
    assert line == "fmbot: --app mybot:nothing: module 'mybot' has no attribute 'nothing'"


def test_every_command_offers_app_in_its_help(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The commands' help comes from one parser, read in this process (`python -m bot` reaching
    # it is the process test's above).
    result = run_cli("run", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--app MODULE:ATTR" in result.stdout
    for command in (["chat"], ["check"], ["report"], ["migrate"], ["kb", "sync"]):
        with pytest.raises(SystemExit) as exited:
            cli.main([*command, "--help"])
        assert exited.value.code == 0
        assert "--app MODULE:ATTR" in capsys.readouterr().out, command


def test_migrate_with_app_applies_its_own_migrations(tmp_path: Path) -> None:
    versions = tmp_path / "notes_migrations"
    versions.mkdir()
    (versions / "notes_0001_table.py").write_text(NOTES_MIGRATION)
    (tmp_path / "mybot.py").write_text(textwrap.dedent(f"""
        from bot import App
        app = App.from_env()
        app.add_migrations("notes", {str(versions)!r})
    """))
    db = tmp_path / "bot.db"
    url = f"sqlite+aiosqlite:///{db}"
    result = run_cli("migrate", "--app", "mybot:app", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {"notes_plugin_notes", "messages"} <= tables
        heads = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    fmbot = [(head,) for head in head_revision().split(", ")]  # fmbot's heads (its features')
    assert sorted(heads) == sorted([*fmbot, ("notes_0001",)]), "a head per branch, one table"
    # Without the App the database is still fmbot's: the plugin's revision is not "too new",
    # it is kept aside with its table, and comes back with the App.
    again = run_cli("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(db) as conn:
        assert sorted(conn.execute("SELECT version_num FROM alembic_version").fetchall()) == fmbot
        assert conn.execute("SELECT version_num FROM alembic_version_parked").fetchall() == [
            ("notes_0001",)]
    back = run_cli("migrate", "--app", "mybot:app", cwd=tmp_path, DATABASE_URL=url)
    assert back.returncode == 0, back.stderr
    with sqlite3.connect(db) as conn:
        heads = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert conn.execute("SELECT count(*) FROM alembic_version_parked").fetchall() == [(0,)]
    assert sorted(heads) == sorted([*fmbot, ("notes_0001",)])


def test_an_installed_plugin_is_set_up_by_name(tmp_path: Path) -> None:
    site = tmp_path / "site"
    versions = site / "notes_versions"
    versions.mkdir(parents=True)
    (versions / "notes_0001_table.py").write_text(NOTES_MIGRATION)
    write_plugin(site, "notes", """
        from pathlib import Path
        from bot.plugin import Feature
        FEATURE = Feature(name="notes",
                          migrations=[("notes", Path(__file__).parent / "notes_versions")])
    """)
    db = tmp_path / "bot.db"
    work = tmp_path / "work"
    work.mkdir()
    result = run_cli(
        "migrate", cwd=work, path=site, DATABASE_URL=f"sqlite+aiosqlite:///{db}",
        FMBOT_PLUGINS="notes",
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "notes_plugin_notes" in tables


def test_an_unknown_plugin_is_refused_with_the_installed_ones(tmp_path: Path) -> None:
    site = write_plugin(tmp_path / "site", "notes",
                        "from bot.plugin import Feature\nFEATURE = Feature(name='notes')\n")
    line = one_line(run_cli("migrate", cwd=tmp_path, path=site, FMBOT_PLUGINS="notes,nope",
                            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db"))
    assert line.startswith("fmbot: FMBOT_PLUGINS: no installed plugin named 'nope' (installed: ")
    assert "notes" in line


def test_a_plugin_that_fails_to_load_is_one_line(tmp_path: Path) -> None:
    site = write_plugin(tmp_path / "site", "bad", "raise KeyError('x')\n")
    result = run_cli("migrate", cwd=tmp_path, path=site, FMBOT_PLUGINS="bad",
                     DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    assert result.returncode == 2
    assert "fmbot: FMBOT_PLUGINS: plugin 'bad' failed to load: KeyError('x')" in result.stderr


def test_a_plugin_of_the_old_form_is_refused_saying_what_to_name(tmp_path: Path) -> None:
    """fmbot 0.3's `plugin(app)`, a function that changed the App, is refused before anything
    runs, in one line saying what the entry point names instead."""
    site = write_plugin(tmp_path / "site", "old", """
        def plugin(app):
            app.command("old", "The old way")
    """, attribute="plugin")
    line = one_line(run_cli("migrate", cwd=tmp_path, path=site, FMBOT_PLUGINS="old",
                            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db"))
    assert line.startswith("fmbot: FMBOT_PLUGINS: plugin 'old': its entry point "
                           "fmbot_old_plugin:plugin is a function, not a bot.plugin.Feature: "
                           "point it at a Feature whose setup(setup) registers")


# -- the App in process ----------------------------------------------------------------------


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")

    csv_path: Path
    retries: int = 3


def test_a_plugins_own_settings_name_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = App(env_file=None)
    with pytest.raises(ConfigError, match=r"^DEMO_CSV_PATH: Field required$"):
        app.load_settings(DemoSettings)
    monkeypatch.setenv("DEMO_CSV_PATH", str(tmp_path))
    monkeypatch.setenv("DEMO_RETRIES", "many")
    with pytest.raises(ConfigError, match=r"^DEMO_RETRIES: "):
        app.load_settings(DemoSettings)
    monkeypatch.setenv("DEMO_RETRIES", "5")
    assert app.load_settings(DemoSettings).retries == 5
    env = tmp_path / "custom.env"
    env.write_text("DEMO_RETRIES=7\n")
    monkeypatch.delenv("DEMO_RETRIES")  # the environment wins over the file
    assert App(env_file=env).load_settings(DemoSettings).retries == 7


def test_parts_must_be_async_and_uniquely_named() -> None:
    app = App(env_file=None)

    def sync_provider(ctx: ToolContext) -> str:
        return ""

    with pytest.raises(AppError, match="must be an async function"):
        app.context(sync_provider)  # type: ignore[arg-type]

    async def plan(ctx: ToolContext) -> str | None:
        return None

    app.context(plan)
    with pytest.raises(AppError, match="already added"):
        app.context(plan)
    app.context(name="plan2")(plan)
    with pytest.raises(AppError, match="must be an async function"):
        app.on_answer(print)  # type: ignore[arg-type]
    with pytest.raises(AppError, match="does not exist"):
        app.add_migrations("x", "/nonexistent")


def test_a_setting_that_no_longer_does_anything_is_named_in_the_log(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    result = run_cli("migrate", cwd=tmp_path, DATABASE_URL=url, TELEGRAM_MESSAGE_BURST="10")
    assert result.returncode == 0, result.stderr
    assert "TELEGRAM_MESSAGE_BURST has no effect any more" in result.stderr
    quiet = run_cli("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert "TELEGRAM_MESSAGE_BURST" not in quiet.stderr
