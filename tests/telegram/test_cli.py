"""`python -m bot ...`: settings are checked before anything starts. The commands run in this
process (tests/cli.py); the entry points as processes are tests/e2e/test_entry_points.py's."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
from pathlib import Path

import pytest

from bot.log import setup_logging
from tests.cli import run_bot, run_bot_async
from tests.conftest import REPO_ROOT


def run_cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "YANDEX_"))}
    clean.update(env)
    clean["PYTHONPATH"] = str(REPO_ROOT)
    # cwd: an empty directory, so no .env is picked up
    return run_bot(args, cwd=cwd, env=clean)


def test_run_without_token_names_it(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path, YANDEX_API_KEY="k", YANDEX_FOLDER_ID="f")
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir()), "nothing may be created before the check"


def test_run_without_yandex_credentials_names_them(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path, TELEGRAM_BOT_TOKEN="123:abc")
    assert result.returncode == 2
    assert "YANDEX_API_KEY" in result.stderr


def test_bad_setting_names_the_variable(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path, RATE_LIMIT_PER_MINUTE="many")
    assert result.returncode == 2
    assert "RATE_LIMIT_PER_MINUTE" in result.stderr


def test_webhook_mode_needs_its_secret(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        cwd=tmp_path,
        TELEGRAM_BOT_TOKEN="123:abc",
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_URL="https://example.org/hook",
    )
    assert result.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in result.stderr


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    result = run_cli("migrate", cwd=tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{db}")
    assert result.returncode == 0, result.stderr
    assert db.exists()
    again = run_cli("migrate", cwd=tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{db}")
    assert again.returncode == 0, again.stderr


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "bot.db"
    url = f"sqlite+aiosqlite:///{db}"
    assert run_cli("migrate", cwd=tmp_path, DATABASE_URL=url).returncode == 0
    with sqlite3.connect(db) as conn:
        # As a newer fmbot leaves it: none of its heads is one this fmbot knows.
        conn.execute("DELETE FROM alembic_version")
        conn.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    result = run_cli("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 3
    assert "newer" in result.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_logs_never_show_secrets(fmt: str) -> None:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    stream = io.StringIO()
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    setup_logging("DEBUG", fmt, secrets=["my-api-key-123"], stream=stream)
    log = logging.getLogger("test.secrets")
    log.info("calling https://api.telegram.org/bot%s/getMe with my-api-key-123", token)
    try:
        raise RuntimeError(f"failed with {token}")
    except RuntimeError:
        log.exception("boom", extra={"update_id": 7})
    out = stream.getvalue()
    assert token not in out
    assert "my-api-key-123" not in out
    assert "***" in out
    if fmt == "json":
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert lines[-1]["update_id"] == 7
        assert "exception" in lines[-1]
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


async def test_terminal_chat_streams_answers_from_the_same_core(tmp_path: Path) -> None:

    from tests.fakes.yandex.server import FakeFoundationModels

    async with FakeFoundationModels(api_key="k", folder_id="f") as fm:
        fm.queue_reply("Hello from **the model**", chunks=4, interval=0.01)
        fm.queue_reply("Second take")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "YANDEX_"))}
        env.update(
            PYTHONPATH=str(REPO_ROOT),
            YANDEX_API_KEY="k",
            YANDEX_FOLDER_ID="f",
            YANDEX_LLM_URL=fm.url,
            YANDEX_OPERATION_URL=fm.url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        )
        done = await run_bot_async(
            ["chat"], cwd=tmp_path, env=env, stdin="hi there\n/retry\n/reset\n/exit\n"
        )
    text = done.stdout
    assert done.returncode == 0, done.stderr
    assert "Hello from **the model**" in text
    assert "Second take" in text
    assert "[new conversation]" in text
    assert (tmp_path / "bot.db").exists()


async def test_terminal_chat_logs_to_a_file_when_asked(tmp_path: Path) -> None:
    """`chat --log-file`: the log at LOG_LEVEL goes to the file, none of it into the answers
    (what a person at a real terminal sees is tests/e2e/test_terminal_chat.py's)."""
    from tests.fakes.yandex.server import FakeFoundationModels

    log = tmp_path / "chat.log"
    async with FakeFoundationModels(api_key="k", folder_id="f") as fm:
        fm.queue_reply("Hi.")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "YANDEX_"))}
        env.update(
            PYTHONPATH=str(REPO_ROOT), YANDEX_API_KEY="k", YANDEX_FOLDER_ID="f",
            YANDEX_LLM_URL=fm.url, YANDEX_OPERATION_URL=fm.url, LOG_LEVEL="INFO",
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        )
        done = await run_bot_async(["chat", "--log-file", str(log)], cwd=tmp_path, env=env,
                                   stdin="hello\n")
    assert done.returncode == 0, done.stderr
    assert "Hi." in done.stdout
    assert "INFO" not in done.stdout + done.stderr, "no log line among the answers"
    assert re.search(r"INFO +bot\.conversation\.finishing: answer \d+ in chat 0: complete",
                     log.read_text())


def test_run_refuses_redis_with_sqlite(tmp_path: Path) -> None:
    result = run_cli(
        "run", cwd=tmp_path, TELEGRAM_BOT_TOKEN="123:abc", YANDEX_API_KEY="k",
        YANDEX_FOLDER_ID="f", REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 2
    assert "several replicas need one PostgreSQL database" in result.stderr
    assert not list(tmp_path.iterdir()), "nothing may be created before the check"


def test_run_names_a_metrics_port_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(
            "run", cwd=tmp_path, TELEGRAM_BOT_TOKEN="123:abc", YANDEX_API_KEY="k",
            YANDEX_FOLDER_ID="f", TELEGRAM_API_URL="http://127.0.0.1:9",
            METRICS_LISTEN=f"127.0.0.1:{port}",
        )
    assert result.returncode == 2, result.stderr
    assert f"METRICS_LISTEN: cannot listen on 127.0.0.1:{port}" in result.stderr


def test_no_command_prints_the_migration_tools_info_lines(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "YANDEX_"))}
    env.update(PYTHONPATH=str(REPO_ROOT), LOG_LEVEL="INFO",
               DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    for command in (["migrate"], ["report"]):
        done = run_bot(command, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert "alembic.runtime" not in done.stderr + done.stdout
        assert "Context impl" not in done.stderr
