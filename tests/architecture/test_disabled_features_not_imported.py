"""What `python -m bot run` builds with the defaults imports nothing that only a feature which
is off needs: each such library costs every process megabytes of memory and start-up CPU
(numpy and OpenBLAS about 20 MB, PyJWT with cryptography about 20 MB)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

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
import asyncio, sys
from bot import Settings
from bot.wiring.run import built_bot

async def main():
    settings = Settings(_env_file=None)
    async with built_bot(settings, "", background=False):
        pass
    print("imported:" + ",".join(sorted(m for m in {names!r} if m in sys.modules)))

asyncio.run(main())
"""


# A hang guard, not a speed check: the probe is a fresh interpreter building the whole bot,
# 12 CPU-seconds on the 2-core machine (CPU report, 2026-11-28); beside a busy loop and the
# rest of the suite it got under a tenth of a core and passed 120 s.
@pytest.mark.slow
@pytest.mark.timeout(360)
def test_run_with_the_defaults_imports_no_library_of_a_feature_that_is_off(
    tmp_path: Path,
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO_ROOT),
        "TELEGRAM_BOT_TOKEN": "1:x",
        "YANDEX_API_KEY": "k",
        "YANDEX_FOLDER_ID": "f",
        # Nothing answers here: building the bot asks no service.
        "TELEGRAM_API_URL": "http://127.0.0.1:9",
        "YANDEX_LLM_URL": "http://127.0.0.1:9",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(names=tuple(ONLY_FOR))],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=330, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("imported:")]
    imported = [name for name in line.removeprefix("imported:").split(",") if name]
    assert imported == [], "imported with every feature that needs them off: " + "; ".join(
        f"{name} ({ONLY_FOR[name]})" for name in imported)
