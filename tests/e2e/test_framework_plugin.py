"""The helpdesk example plugin, pip-installed and named in FMBOT_PLUGINS, loaded by the bot as
a process: a SIGKILL between its command's receipt and its reply is replayed once. What the
plugin does in a bot is tests/features/extensions/test_installed_plugin.py's, in process. The
replay is the durable intake's, whatever handler the update reaches: polling here, webhook
deliveries in test_faults_queue.py (`test_queue_survives_sigkill_webhook`)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.testing.telegram.state import Call
from tests.conftest import REPO_ROOT
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]

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


def helpdesk(tmp_path: Path, site: Path) -> E2E:
    return E2E(
        tmp_path,
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


async def test_a_crash_between_the_commands_receipt_and_its_reply_is_replayed_once(
    tmp_path: Path, helpdesk_site: Path
) -> None:
    async with helpdesk(tmp_path, helpdesk_site) as e2e:
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
