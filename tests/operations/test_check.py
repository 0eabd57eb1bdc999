"""`python -m bot check` against the fake Telegram and Yandex servers, real databases and Redis:
every check passes on a good setup, and each kind of failure is named with its fix."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.cli.checks import Outcome, redacted, run_checks
from bot.features.knowledge.checks import check_knowledge_base
from bot.features.settings import Settings
from bot.storage.migrations import head_revision
from tests.cli import run_bot_async
from tests.conftest import REPO_ROOT
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels
from tests.ports import free_port

TOKEN = "123456:check-token"
API_KEY = "check-key"
FOLDER = "b1gcheck"
SUPPORT_CHAT = -1001234567890


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[TelegramServer, FakeFoundationModels]]:
    async with TelegramServer(TOKEN) as tg, FakeFoundationModels(
        api_key=API_KEY, folder_id=FOLDER
    ) as fm:
        yield tg, fm


def settings_for(tg: TelegramServer, fm: FakeFoundationModels, database_url: str,
                 **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_url": tg.url,
        "yandex_api_key": API_KEY,
        "yandex_folder_id": FOLDER,
        "yandex_llm_url": fm.url,
        "yandex_operation_url": fm.url,
        "stt_url": fm.url,
        "tts_url": fm.url,
        "database_url": database_url,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def by_name(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.name: o for o in outcomes}


@pytest.mark.slow
async def test_a_good_replica_setup_passes_every_check(
    fakes: tuple[TelegramServer, FakeFoundationModels], postgres_url: str, redis_url: str,
    tmp_path: Path,
) -> None:
    tg, fm = fakes
    tg.add_forum(SUPPORT_CHAT, title="Support")
    tg.set_member(SUPPORT_CHAT, 123456, "administrator", can_manage_topics=True)
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "faq.md").write_text("# FAQ\n", encoding="utf-8")
    settings = settings_for(tg, fm, postgres_url, redis_url=redis_url,
                            support_chat_id=SUPPORT_CHAT, kb_path=str(kb))
    outcomes = await run_checks(settings)
    assert [o.name for o in outcomes] == [
        "configuration", "telegram", "guest mode", "chat automation", "support chat", "yandex",
        "speech recognition",
        "speech synthesis", "database", "redis", "models", "wire", "built-in tools",
        "reasoning", "knowledge base",
    ]
    assert all(o.ok for o in outcomes), [o.line() for o in outcomes]
    names = by_name(outcomes)
    assert "@fm_test_bot" in names["telegram"].detail
    assert "latest" in names["database"].detail
    # The Yandex check really called the tokenizer with the key and folder.
    assert any(r.path.endswith("/tokenize") for r in fm.requests)
    assert any(c.method == "getChatMember" for c in tg.calls)
    # Checks leave one fencing counter behind, not one key per run.
    await run_checks(settings)
    left = set(redis.Redis.from_url(redis_url).scan_iter(match="fmbot:check:*"))
    assert left <= {b"fmbot:check:fence:check", b"fmbot:check:lease:check"}


async def test_redis_with_sqlite_is_refused(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str, redis_url: str
) -> None:
    tg, fm = fakes
    names = by_name(await run_checks(settings_for(tg, fm, sqlite_url, redis_url=redis_url)))
    assert not names["configuration"].ok
    assert "several replicas need one PostgreSQL database" in names["configuration"].detail
    assert names["redis"].ok


async def test_single_process_setup_passes(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    tg, fm = fakes
    outcomes = await run_checks(settings_for(tg, fm, sqlite_url))
    assert [o.name for o in outcomes] == [
        "configuration", "telegram", "guest mode", "chat automation", "yandex",
        "speech recognition", "speech synthesis", "database", "models", "wire", "built-in tools",
        "reasoning",
    ]
    assert all(o.ok for o in outcomes), [o.line() for o in outcomes]


async def test_guest_mode_is_reported_from_get_me(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    """getMe's `supports_guest_queries` (Bot API 10.0): whether @mentions in chats the bot is
    not a member of reach it; never a failure."""
    tg, fm = fakes
    outcomes = by_name(await run_checks(settings_for(tg, fm, sqlite_url)))
    assert outcomes["guest mode"].ok
    assert "supports guest queries" in outcomes["guest mode"].detail
    tg.guest_queries = False
    outcomes = by_name(await run_checks(settings_for(tg, fm, sqlite_url)))
    assert outcomes["guest mode"].ok
    assert "does not support guest queries" in outcomes["guest mode"].detail
    assert "@BotFather" in outcomes["guest mode"].detail
    outcomes = by_name(await run_checks(settings_for(tg, fm, sqlite_url, guest_mode="off")))
    assert "GUEST_MODE=off" in outcomes["guest mode"].detail


async def test_chat_automation_is_reported_from_get_me(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    """getMe's `can_connect_to_business`: whether accounts may connect the bot (their
    customers answered by it); never a failure."""
    tg, fm = fakes
    outcomes = by_name(await run_checks(settings_for(tg, fm, sqlite_url)))
    assert outcomes["chat automation"].ok
    assert "may be connected to accounts" in outcomes["chat automation"].detail
    tg.bot_user["can_connect_to_business"] = False
    outcomes = by_name(await run_checks(settings_for(tg, fm, sqlite_url)))
    assert outcomes["chat automation"].ok
    assert "may not be connected to accounts" in outcomes["chat automation"].detail
    assert "@BotFather" in outcomes["chat automation"].detail
    outcomes = by_name(await run_checks(
        settings_for(tg, fm, sqlite_url, business_replies="off")))
    assert "BUSINESS_REPLIES=off" in outcomes["chat automation"].detail


async def test_a_rejected_token_and_key_are_named_with_their_fix(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    tg, fm = fakes
    settings = settings_for(tg, fm, sqlite_url, telegram_bot_token="123456:wrong",
                            yandex_api_key="wrong-key")
    names = by_name(await run_checks(settings))
    assert not names["telegram"].ok
    assert "401" in names["telegram"].detail
    assert "@BotFather" in names["telegram"].fix
    assert not names["yandex"].ok
    assert "401" in names["yandex"].detail
    assert "API key" in names["yandex"].fix
    assert names["database"].ok
    # Speech needs the same key: it is skipped, pointing at the yandex line, never blaming a
    # missing SpeechKit role (and SpeechKit is not called with a key already refused).
    speech = names["speech recognition"]
    assert speech.skipped
    assert speech.line() == ("skip  speech recognition: skipped: the Yandex check above "
                             "failed; fix that first")
    assert "ai.speechkit-stt.user" not in speech.line()
    assert fm.stt_requests == []


async def test_a_wrong_folder_and_an_unreachable_telegram(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    tg, fm = fakes
    settings = settings_for(tg, fm, sqlite_url, yandex_folder_id="b1gother",
                            telegram_api_url=f"http://127.0.0.1:{free_port()}")
    names = by_name(await run_checks(settings))
    assert not names["yandex"].ok
    assert "YANDEX_FOLDER_ID" in names["yandex"].fix
    assert not names["telegram"].ok
    assert "cannot reach" in names["telegram"].detail


@pytest.mark.parametrize(
    ("status", "rights", "expected"),
    [
        ("administrator", {"can_manage_topics": False}, "without the right to manage topics"),
        ("member", {}, "'member'"),
        ("left", {}, "'left'"),
    ],
)
async def test_support_chat_rights(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str, status: str,
    rights: dict[str, bool], expected: str,
) -> None:
    tg, fm = fakes
    tg.add_chat(SUPPORT_CHAT, "supergroup", title="Support")
    tg.set_member(SUPPORT_CHAT, 123456, status, **rights)
    settings = settings_for(tg, fm, sqlite_url, support_chat_id=SUPPORT_CHAT)
    names = by_name(await run_checks(settings))
    support = names["support chat"]
    assert not support.ok
    assert expected in support.detail
    assert "Manage topics" in support.fix


async def test_unknown_support_chat(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    tg, fm = fakes
    settings = settings_for(tg, fm, sqlite_url, support_chat_id=SUPPORT_CHAT)
    names = by_name(await run_checks(settings))
    assert not names["support chat"].ok
    assert "chat not found" in names["support chat"].detail
    assert "SUPPORT_CHAT_ID" in names["support chat"].fix


@pytest.mark.slow
async def test_database_states(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str, tmp_path: Path
) -> None:
    tg, fm = fakes
    missing = tmp_path / "new.db"
    names = by_name(await run_checks(settings_for(tg, fm, f"sqlite+aiosqlite:///{missing}")))
    assert names["database"].ok
    assert "does not exist yet" in names["database"].detail
    assert not missing.exists(), "check must not create the database"
    with sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///")) as conn:
        conn.execute("INSERT INTO alembic_version VALUES ('9999')")
    names = by_name(await run_checks(settings_for(tg, fm, sqlite_url)))
    assert not names["database"].ok
    assert "newer than this fmbot" in names["database"].detail
    # A branch of a feature this fmbot does not have (a plugin taken out) is no refusal:
    # `run` keeps it aside with its tables.
    with sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///")) as conn:
        conn.execute("DELETE FROM alembic_version WHERE version_num = '9999'")
        conn.execute("INSERT INTO alembic_version VALUES ('notes_0001')")
    names = by_name(await run_checks(settings_for(tg, fm, sqlite_url)))
    assert names["database"].ok, names["database"].detail
    assert f"upgrades it to {head_revision()}" in names["database"].detail


async def test_unreachable_postgres_and_redis(
    fakes: tuple[TelegramServer, FakeFoundationModels]
) -> None:
    tg, fm = fakes
    port = free_port()
    settings = settings_for(
        tg, fm, f"postgresql+asyncpg://fmbot:secret@127.0.0.1:{port}/fmbot",
        redis_url=f"redis://:hunter2@127.0.0.1:{port}/0",
    )
    outcomes = await run_checks(settings)
    names = by_name(outcomes)
    assert not names["database"].ok
    assert "DATABASE_URL" in names["database"].fix
    assert not names["redis"].ok
    assert "REDIS_URL" in names["redis"].fix
    text = "\n".join(o.line() for o in outcomes)
    assert "secret" not in text
    assert "hunter2" not in text


def test_knowledge_base_folders(tmp_path: Path) -> None:
    assert not check_knowledge_base([tmp_path / "nope"]).ok
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no files" in check_knowledge_base([empty]).detail
    (empty / "a.txt").write_text("a", encoding="utf-8")
    assert check_knowledge_base([empty]).ok


def test_redacted() -> None:
    assert redacted("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redacted("redis://h:6379/0") == "redis://h:6379/0"


async def _cli_check(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    done = await run_bot_async(["check"], cwd=cwd, env=env, merge_stderr=True)
    return done.returncode, done.stdout


@pytest.mark.slow
async def test_the_command_prints_one_line_per_check_and_exits_by_result(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str, tmp_path: Path
) -> None:
    tg, fm = fakes
    env = {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": tg.url, "YANDEX_API_KEY": API_KEY, "YANDEX_FOLDER_ID": FOLDER,
        "YANDEX_LLM_URL": fm.url, "DATABASE_URL": sqlite_url, "LOG_LEVEL": "WARNING",
        "STT_URL": fm.url, "TTS_URL": fm.url,
    }
    code, out = await _cli_check(env, tmp_path)
    assert code == 0, out
    assert [line.split()[0] for line in out.splitlines()[:12]] == ["ok"] * 12
    assert "ok    guest mode: the bot supports guest queries" in out
    assert "ok    chat automation: the bot may be connected to accounts" in out
    assert "12 passed, 0 failed" in out
    env["YANDEX_API_KEY"] = "wrong"
    code, out = await _cli_check(env, tmp_path)
    assert code == 1, out
    assert "FAIL  yandex:" in out
    assert "fix:" in out


@pytest.mark.slow
async def test_speech_recognition_is_checked_with_the_built_in_sample(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    tg, fm = fakes
    names = by_name(await run_checks(settings_for(tg, fm, sqlite_url)))
    assert names["speech recognition"].ok, names["speech recognition"].line()
    [sample] = fm.stt_requests
    assert sample.format == "oggopus"
    assert sample.seconds is not None
    assert 0 < sample.seconds <= 30
    fm.stt_forbidden = True
    names = by_name(await run_checks(settings_for(tg, fm, sqlite_url)))
    assert not names["speech recognition"].ok
    assert "ai.speechkit-stt.user" in names["speech recognition"].fix
    off = await run_checks(settings_for(tg, fm, sqlite_url, speech_recognition="off"))
    assert "speech recognition" not in by_name(off)


@pytest.mark.slow
async def test_speech_synthesis_speaks_a_sample_and_names_a_missing_role(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str
) -> None:
    tg, fm = fakes
    names = by_name(await run_checks(settings_for(tg, fm, sqlite_url)))
    assert names["speech synthesis"].ok, names["speech synthesis"].line()
    [sample] = fm.tts_requests
    assert (sample.text, sample.format, sample.lang) == ("Проверка", "oggopus", "ru-RU")
    fm.tts_forbidden = True
    names = by_name(await run_checks(settings_for(tg, fm, sqlite_url)))
    assert not names["speech synthesis"].ok
    assert "ai.speechkit-tts.user" in names["speech synthesis"].fix
    assert "VOICE_REPLIES=off" in names["speech synthesis"].fix
    off = await run_checks(settings_for(tg, fm, sqlite_url, voice_replies="off"))
    assert "speech synthesis" not in by_name(off)


@pytest.mark.slow
async def test_a_misspelt_setting_in_env_is_named_by_check_and_by_run(
    fakes: tuple[TelegramServer, FakeFoundationModels], sqlite_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    tg, fm = fakes
    (tmp_path / ".env").write_text(
        "SUPORT_CHAT_ID=-1001234567890\nMY_OWN_FLAG=1\n", encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": tg.url, "YANDEX_API_KEY": API_KEY, "YANDEX_FOLDER_ID": FOLDER,
        "YANDEX_LLM_URL": fm.url, "DATABASE_URL": sqlite_url, "LOG_LEVEL": "WARNING",
        "STT_URL": fm.url, "TTS_URL": fm.url, "TEXT_MODLE": "yandexgpt",
    }
    code, out = await _cli_check(env, tmp_path)
    assert code == 1, out
    assert ("FAIL  variables: .env: SUPORT_CHAT_ID is not a setting fmbot reads: did you mean "
            "SUPPORT_CHAT_ID?\n      fix: rename SUPORT_CHAT_ID to SUPPORT_CHAT_ID") in out
    assert ("FAIL  variables: the environment: TEXT_MODLE is not a setting fmbot reads: did "
            "you mean TEXT_MODEL?") in out
    assert "ok    variables: .env: MY_OWN_FLAG is not a setting fmbot reads" in out
    assert "PATH" not in out.split("variables")[1].split("\n")[0]  # the rest of the environment
    # `run` says the same at start, at WARNING (here it then stops on a refused token).
    from bot.app import App, parts_of
    from bot.cli.factory import Factory
    from bot.cli.run import run as run_command
    from bot.config import ConfigError
    from bot.features.settings import load_settings

    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:refused")
    app = App()
    factory = Factory(parts_of(app), load_settings(".env"), "")
    caplog.set_level(logging.WARNING, "bot")
    with contextlib.suppress(ConfigError, SystemExit):
        await run_command(factory, argparse.Namespace())
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (".env: SUPORT_CHAT_ID is not a setting fmbot reads: did you mean SUPPORT_CHAT_ID?"
            in warned)
