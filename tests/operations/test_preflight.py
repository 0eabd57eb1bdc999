"""Issue 27, items 2, 3, 7 and 12a: `check` validates every setting as `run` does (one
function), names every problem at once, reports a support chat without Topics, and every check
and command turns a bad URL, path or reply into one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli.checks import check_configuration, run_checks
from bot.features.installed import FEATURES
from bot.features.settings import Settings
from tests.cli import run_bot
from tests.conftest import REPO_ROOT
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels
from tests.operations.test_check import API_KEY, FOLDER, SUPPORT_CHAT, TOKEN, by_name, settings_for


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[TelegramServer, FakeFoundationModels]]:
    async with TelegramServer(TOKEN) as tg, FakeFoundationModels(
        api_key=API_KEY, folder_id=FOLDER
    ) as fm:
        yield tg, fm


def cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ...` in an empty folder, with only the environment given."""
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO_ROOT)}
    clean.update(env)
    return run_bot(args, cwd=cwd, env=clean)


COMPLETE = {
    "TELEGRAM_BOT_TOKEN": TOKEN, "YANDEX_API_KEY": API_KEY, "YANDEX_FOLDER_ID": FOLDER,
    # Nothing listens there: `run` must refuse before it calls anyone.
    "TELEGRAM_API_URL": "http://127.0.0.1:9", "YANDEX_LLM_URL": "http://127.0.0.1:9",
}


# --- item 7: `check` validates as `run` does, by the same code ------------------------------
@pytest.mark.parametrize(
    ("name", "value"),
    [("SUPPORT_TIMEZONE", "Moscow"), ("SUPPORT_HOURS", "Mon-Fri 9-18"),
     ("DATABASE_URL", "fmbot.db"), ("METRICS_LISTEN", "9090x"),
     ("SYSTEM_PROMPT_FILE", "no/such/prompt.txt"),
     # Issue 64 item 2: unchecked, `run` retried "not reachable" every 30 s for ever.
     ("TELEGRAM_API_URL", "127.0.0.1:18531")],
)
def test_check_refuses_what_run_refuses_with_the_same_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    run = cli("run", cwd=tmp_path, **{**COMPLETE, name: value})
    assert run.returncode == 2, run.stderr
    refused = [line.removeprefix("fmbot: ") for line in run.stderr.strip().splitlines()]
    assert refused
    assert all(name in line for line in refused), run.stderr

    monkeypatch.chdir(tmp_path)
    for key, val in {**COMPLETE, name: value}.items():
        monkeypatch.setenv(key, val)
    lines = [o.detail for o in check_configuration(Settings(), FEATURES) if not o.ok]
    assert lines == refused


# --- item 12a: every missing setting named in one run ---------------------------------------
def test_run_names_every_missing_setting_at_once(tmp_path: Path) -> None:
    result = cli("run", cwd=tmp_path)
    assert result.returncode == 2
    for name in ("TELEGRAM_BOT_TOKEN", "YANDEX_API_KEY", "YANDEX_FOLDER_ID"):
        assert name in result.stderr, result.stderr
    assert all(line.startswith("fmbot: ") for line in result.stderr.strip().splitlines())
    assert not list(tmp_path.iterdir()), "nothing may be created before the check"


def test_every_bad_value_is_named_at_once(tmp_path: Path) -> None:
    result = cli("run", cwd=tmp_path, **COMPLETE, RATE_LIMIT_PER_MINUTE="many",
                 TEMPERATURE="hot")
    assert result.returncode == 2
    assert "RATE_LIMIT_PER_MINUTE" in result.stderr
    assert "TEMPERATURE" in result.stderr


# --- item 3: one line, never a traceback -----------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [("run",), ("check",), ("migrate",), ("report",), ("chat",), ("kb", "sync")],
)
def test_a_database_url_that_is_a_file_name_is_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    result = cli(*args, cwd=tmp_path, **COMPLETE, DATABASE_URL="fmbot.db", KB_PATH=str(kb),
                 LOG_LEVEL="WARNING")
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert "DATABASE_URL: cannot read 'fmbot.db'" in out
    if args != ("check",):  # check prints its lines, one of them this
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("args", [("run",), ("chat",), ("kb", "sync")])
def test_a_key_file_that_is_not_a_key_is_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "key.json").write_text("{}", encoding="utf-8")
    settings = {k: v for k, v in COMPLETE.items() if k != "YANDEX_API_KEY"}
    result = cli(*args, cwd=tmp_path, **settings, YANDEX_SA_KEY_FILE="key.json",
                 KB_PATH=str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("fmbot: YANDEX_SA_KEY_FILE: cannot read")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_sqlite_file_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/missing/dir/bot.db"
    result = cli("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "missing/dir" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_report_csv_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    result = cli("report", "--csv", "missing/dir/r.csv", cwd=tmp_path, DATABASE_URL=db)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "fmbot: report: --csv: no such folder missing/dir"


async def test_a_reply_check_cannot_read_fails_that_check_alone(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    tg, fm = fakes
    tg.add_forum(SUPPORT_CHAT)

    async def unreadable(p: Any, call: Any) -> Any:
        return {"status": "administrator"}  # no user, no rights: aiogram cannot parse it

    tg.methods["getchatmember"] = unreadable
    outcomes = await run_checks(settings_for(tg, fm, sqlite_url,
                                             support_chat_id=SUPPORT_CHAT))
    assert [o.name for o in outcomes] == [
        "configuration", "telegram", "guest mode", "chat automation", "support chat", "yandex",
        "speech recognition", "speech synthesis", "database", "models", "wire",
        "built-in tools", "reasoning",
    ]
    names = by_name(outcomes)
    assert all(names[name].ok for name in ("telegram", "yandex", "database"))
    assert not names["support chat"].ok
    assert "ClientDecodeError" in names["support chat"].detail
    assert "\n" not in names["support chat"].detail


async def test_a_broken_check_does_not_hide_the_others(
    fakes: tuple[TelegramServer, FakeFoundationModels]
) -> None:
    tg, fm = fakes
    outcomes = await run_checks(settings_for(tg, fm, "fmbot.db"))
    names = by_name(outcomes)
    assert names["telegram"].ok
    assert names["yandex"].ok
    assert not names["database"].ok
    assert "DATABASE_URL: cannot read 'fmbot.db'" in names["database"].detail


# --- item 2: a support chat without Topics -----------------------------------------------------
@pytest.mark.slow
async def test_check_fails_a_support_chat_without_topics(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    tg, fm = fakes
    tg.add_chat(SUPPORT_CHAT, "supergroup", title="Support")
    tg.set_member(SUPPORT_CHAT, 123456, "administrator", can_manage_topics=True)
    settings = settings_for(tg, fm, sqlite_url, support_chat_id=SUPPORT_CHAT)
    names = by_name(await run_checks(settings))
    support = names["support chat"]
    assert not support.ok
    assert "has no Topics" in support.detail
    assert "turn Topics on" in support.fix
    assert any(c.method == "getChat" for c in tg.calls)

    tg.add_forum(SUPPORT_CHAT)  # the admin turns Topics on
    settings = settings_for(tg, fm, sqlite_url, support_chat_id=SUPPORT_CHAT)
    names = by_name(await run_checks(settings))
    assert names["support chat"].ok, names["support chat"].line()


# --- issue 78, item 5: an empty knowledge-base folder -----------------------------------------
def test_an_empty_knowledge_base_folder_stops_run_in_strict_mode_as_check_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    kb = tmp_path / "kb"
    (kb / "images").mkdir(parents=True)
    (kb / "images" / "logo.png").write_bytes(b"\x89PNG")  # not a document the base reads
    run = cli("run", cwd=tmp_path, **COMPLETE, KB_PATH=str(kb), KB_MODE="strict")
    assert run.returncode == 2, run.stderr
    assert f"KB_PATH: {kb} holds no document the knowledge base can read" in run.stderr
    assert "every customer would be told the answer is not found" in run.stderr
    monkeypatch.chdir(tmp_path)
    for key, val in {**COMPLETE, "KB_PATH": str(kb), "KB_MODE": "strict"}.items():
        monkeypatch.setenv(key, val)
    [problem] = [o.detail for o in check_configuration(Settings(), FEATURES) if not o.ok]
    assert problem == run.stderr.strip().removeprefix("fmbot: ")
    # In assist mode the bot may start without it, and says so.
    monkeypatch.setenv("KB_MODE", "assist")
    caplog.set_level("WARNING")
    assert all(o.ok for o in check_configuration(Settings(), FEATURES))
    assert any("holds no document the knowledge base can read" in r.getMessage()
               and r.levelname == "WARNING" for r in caplog.records)
