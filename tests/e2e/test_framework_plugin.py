"""The helpdesk example plugin, pip-installed and named in FMBOT_PLUGINS, running in the bot as
a process against the fake servers: its command answered and in the menu, its context in the
prompt, and a SIGKILL between its command's receipt and its reply replayed once."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.harness import E2E
from tests.fakes.tg_state import Call

# One worker installs the plugin for the three (its fixture is per module, so per worker).
pytestmark = [pytest.mark.process, pytest.mark.timeout(120), pytest.mark.xdist_group("helpdesk")]

PLUGIN = REPO_ROOT / "examples" / "helpdesk_plugin"
ANNA, BORIS, STRANGER = 7301, 7302, 7399


def pip_install(package: Path, target: Path) -> None:
    """`pip install` into a folder of its own, offline: no index, this venv's setuptools."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--no-index", "--target", str(target),
         str(package)],
        check=True, capture_output=True, timeout=120,
    )


@pytest.fixture(scope="module")
def helpdesk_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("helpdesk-site")
    # Built from a copy: pip builds in the source tree, and another worker may build too.
    source = tmp_path_factory.mktemp("helpdesk-source") / "helpdesk_plugin"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    pip_install(source, site)
    return site


def helpdesk(tmp_path: Path, site: Path, mode: str = "polling") -> E2E:
    return E2E(
        tmp_path,
        mode=mode,
        extra_env={
            "PYTHONPATH": str(site),
            "FMBOT_PLUGINS": "helpdesk",
            "HELPDESK_EMPLOYEES_CSV": str(PLUGIN / "employees.csv"),
        },
    )


def whoami_replies(e2e: E2E, chat: int) -> list[Call]:
    return [
        c for c in e2e.tg.calls
        if c.method == "sendMessage" and c.chat_id == chat
        and str(c.params.get("text", "")).startswith("You are")
    ]


async def test_the_plugin_answers_its_command_and_adds_its_context(
    tmp_path: Path, helpdesk_site: Path
) -> None:
    async with helpdesk(tmp_path, helpdesk_site) as e2e:
        e2e.fm.queue_reply("Finance files expenses in the ledger.", chunks=2, interval=0.05)
        await e2e.start_bot()
        e2e.tg.send_user_message(ANNA, "/whoami")
        anna = "You are Anna Petrova, Finance department."
        await e2e.wait_for(lambda: e2e.texts(ANNA) == [anna])
        e2e.tg.send_user_message(STRANGER, "/whoami", language_code="ru")
        await e2e.wait_for(lambda: e2e.texts(STRANGER))
        assert e2e.texts(STRANGER)[0].startswith("Вас пока нет в справочнике")
        e2e.tg.send_user_message(ANNA, "How do I file expenses?")
        await e2e.wait_for(lambda: len(e2e.texts(ANNA)) == 2, 30)
        system = [
            m["text"]
            for r in e2e.fm.requests if r.path.endswith("/completion")
            for m in r.json["messages"] if m["role"] == "system"
        ]
        assert any("Anna Petrova from the Finance department" in s for s in system), system
        menus = {
            c.params.get("language_code"): {
                item["command"]: item["description"] for item in json.loads(c.params["commands"])
            }
            for c in e2e.tg.calls if c.method == "setMyCommands"
        }
        assert menus[None]["whoami"] == "Who I am in the staff directory"
        assert menus["ru"]["whoami"] == "Кто я в справочнике сотрудников"
        assert {"start", "help", "reset"} <= set(menus["ru"]), "next to fmbot's own"
        rows = e2e.db.query(
            "SELECT context_providers FROM messages WHERE role = 'assistant'"
        )
        assert [r["context_providers"] for r in rows] == ['["helpdesk.department"]']
        # Its own table, made by its own migration, written in fmbot's session of the update.
        looked_up = e2e.db.query("SELECT telegram_id FROM helpdesk_whoami_log ORDER BY id")
        assert [r["telegram_id"] for r in looked_up] == [ANNA, STRANGER]
        assert e2e.db.query("SELECT version_num FROM alembic_version_helpdesk") == [
            {"version_num": "helpdesk_0001"}
        ]
        # Its tool writes, so the model's call waits for the employee's press.
        call = {"name": "open_it_ticket", "arguments": {"summary": "Laptop broken"}}
        e2e.fm.queue_reply("", tool_calls=[call])
        e2e.fm.queue_reply("I opened ticket HD-1 for you.")
        e2e.tg.send_user_message(ANNA, "My laptop does not start")
        card = await e2e.wait_for(lambda: next(
            (m for m in e2e.tg.chat(ANNA).bot_messages if m.reply_markup), None), 30)
        assert "open_it_ticket" in (card.text or "")
        confirm = card.reply_markup["inline_keyboard"][0][0]["callback_data"]
        e2e.tg.send_callback_query(ANNA, card.message_id, confirm)
        await e2e.wait_for(lambda: "I opened ticket HD-1 for you." in e2e.texts(ANNA), 30)
        await e2e.wait_for(
            lambda: "helpdesk: answered 7301 (tools: open_it_ticket)" in e2e.bot.log_text()
        )
        assert "helpdesk: ticket HD-1 for 7301 (Finance): Laptop broken" in e2e.bot.log_text()
        assert await e2e.bot.terminate() == 0
        assert "plugin helpdesk set up" in e2e.bot.log_text()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_crash_between_the_commands_receipt_and_its_reply_is_replayed_once(
    tmp_path: Path, helpdesk_site: Path, mode: str
) -> None:
    async with helpdesk(tmp_path, helpdesk_site, mode) as e2e:
        await e2e.start_bot()
        killed = asyncio.Event()

        async def crash_before_the_reply_is_read(call: Call) -> None:
            if call.method == "sendMessage" and call.chat_id == BORIS and e2e.tg.before_reply:
                e2e.tg.before_reply = None
                await e2e.bot.kill()  # Telegram took the reply; the bot never learns it
                killed.set()

        e2e.tg.before_reply = crash_before_the_reply_is_read
        e2e.tg.send_user_message(BORIS, "/whoami")
        await asyncio.wait_for(killed.wait(), 30)
        assert e2e.db.count("processed_updates", "payload IS NOT NULL") == 1, "still queued"
        await e2e.start_bot()
        await e2e.wait_for(lambda: len(whoami_replies(e2e, BORIS)) == 2, 30)
        await e2e.wait_for(
            lambda: e2e.db.count("processed_updates", "payload IS NOT NULL") == 0, 10
        )
        await e2e.restart_bot(hard=False)  # settled: a third start replays nothing
        e2e.tg.send_user_message(ANNA, "/whoami")
        await e2e.wait_for(lambda: e2e.texts(ANNA))
        assert len(whoami_replies(e2e, BORIS)) == 2, "replayed exactly once"
        assert e2e.texts(BORIS) == ["You are Boris Ivanov, Engineering department."] * 2
        assert e2e.tg.count_flood_429 == 0
