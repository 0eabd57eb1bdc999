"""pytest loads fmbot's plugin (entry point `pytest11`) in every run where fmbot is installed,
tests that never ask for `bot_tester` included: loading it must not import the bot's heavy
dependencies (aiogram alone is about 4 CPU-seconds of pydantic schemas)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import bot.testing

HEAVY = ("aiogram", "sqlalchemy", "httpx", "alembic", "aiosqlite")


@pytest.mark.slow
def test_loading_the_pytest_plugin_imports_no_heavy_dependency() -> None:
    probe = (
        "import sys, bot.testing.pytest_plugin\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == ""


def test_every_public_name_of_the_kit_resolves() -> None:
    for name in bot.testing.__all__:
        assert getattr(bot.testing, name).__name__ == name
    assert set(bot.testing.__all__) <= set(dir(bot.testing))
