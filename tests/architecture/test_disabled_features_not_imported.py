"""What `python -m bot run` builds with the defaults imports nothing that only a feature which
is off needs: each such library costs every process megabytes of memory and start-up CPU
(numpy and OpenBLAS about 20 MB, PyJWT with cryptography about 20 MB). And a program that
embeds the bot keeps its process's settings: importing fmbot's modules tunes nothing of the
process.

Both are read from one fresh interpreter (its start-up imports aiogram and fmbot: about 5
CPU-seconds, where two cost 13): it notes the process's settings, builds the bot with the
defaults and lists the libraries loaded so far, then imports the modules that do load them and
compares the settings with the first note."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.architecture.sources import GROUP
from tests.conftest import REPO_ROOT

# One worker runs both tests on the one probe (--dist loadgroup).
pytestmark = GROUP

# Library -> the feature that needs it (off with the defaults).
ONLY_FOR = {
    "numpy": "the knowledge base (KB_PATH) and the desk's insights",
    "jwt": "a service account's key (YANDEX_SA_KEY_FILE)",
    "cryptography": "a service account's key, signed tool requests",
    "jsonschema": "tools (TOOLS_FILE)",
    "http_message_signatures": "signed tool requests (TOOLS_SIGNING_*)",
    "mcp": "MCP servers in TOOLS_FILE",
    "redis": "replicas (REDIS_URL)",
    "asyncpg": "PostgreSQL (DATABASE_URL)",
    "pypdf": "a document read (on first use)",
    "docx": "a document read (on first use)",
    "openpyxl": "a document read (on first use)",
}

PROBE = """
import asyncio, gc, os, sys
before = (dict(os.environ), gc.get_threshold(), gc.get_freeze_count(), gc.isenabled())
from bot import Settings
from bot.wiring.run import built_bot

async def main():
    settings = Settings(_env_file=None)
    async with built_bot(settings, "", background=False):
        pass
    print("imported:" + ",".join(sorted(m for m in {names!r} if m in sys.modules)))

asyncio.run(main())
# Then the modules of the features that are off, and the command line's: what importing them
# (and building the bot, above) changed of the process's settings.
import bot, bot.features.knowledge.base, bot.features.tools, bot.wiring
import bot.telegram.app, bot.cli.dispatch
after = (dict(os.environ), gc.get_threshold(), gc.get_freeze_count(), gc.isenabled())
changed = {{k: v for k, v in after[0].items() if before[0].get(k) != v}}
print("tuned:", changed, before[1:] == after[1:])
"""


# A hang guard, not a speed check: the probe is a fresh interpreter building the whole bot,
# 12 CPU-seconds on the 2-core machine (CPU report, 2026-11-28); beside a busy loop and the
# rest of the suite it got under a tenth of a core and passed 120 s.
@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The probe's output lines: run once for the module's tests."""
    home = tmp_path_factory.mktemp("probe")
    # A clean environment: no OPENBLAS_NUM_THREADS (the `fmbot` process sets it, bot/cli/
    # dispatch.py; an import that set it would show), nothing of the developer's.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PYTHONPATH": str(REPO_ROOT),
        "TELEGRAM_BOT_TOKEN": "1:x",
        "YANDEX_API_KEY": "k",
        "YANDEX_FOLDER_ID": "f",
        # Nothing answers here: building the bot asks no service.
        "TELEGRAM_API_URL": "http://127.0.0.1:9",
        "YANDEX_LLM_URL": "http://127.0.0.1:9",
        "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'bot.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(names=tuple(ONLY_FOR))],
        cwd=home, env=env, capture_output=True, text=True, timeout=330, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


@pytest.mark.slow
@pytest.mark.timeout(360)
def test_run_with_the_defaults_imports_no_library_of_a_feature_that_is_off(
    probe: list[str],
) -> None:
    (line,) = [line for line in probe if line.startswith("imported:")]
    imported = [name for name in line.removeprefix("imported:").split(",") if name]
    assert imported == [], "imported with every feature that needs them off: " + "; ".join(
        f"{name} ({ONLY_FOR[name]})" for name in imported)


@pytest.mark.slow
@pytest.mark.timeout(360)
def test_importing_the_library_tunes_nothing_of_the_process(probe: list[str]) -> None:
    """A program that embeds the bot (`async with app`) keeps its process's settings: no
    import of fmbot's modules sets an environment variable (OpenBLAS's threads are set by the
    `fmbot` process alone, bot/cli/dispatch.py) or retunes the garbage collector: its
    thresholds, what is frozen and whether it runs (the `fmbot` process pauses it while it
    starts, bot/collector.py; building the bot here leaves it running)."""
    (line,) = [line for line in probe if line.startswith("tuned:")]
    assert line == "tuned: {} True"
