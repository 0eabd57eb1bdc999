"""fmbot's entry points as processes, where the fresh interpreter is the subject: `python -m bot`
exits 2 with one line before anything could fail on import, and the `fmbot` script runs a
project's App from a folder that has a `bot.py` (or `bot/`) of its own. Every other command
and mistake is tested in process (tests/cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.marks import bot_process_allowed

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]


def test_the_entry_points_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """Step 1: `python -m bot run` without a token exits 2 with one line, creating nothing.
    Step 2: a project folder with a `bot.py` (or `bot/`) of its own runs its App from another
    module with the `fmbot` command, and `--app bot:app` says why not."""
    run_without_token(tmp_path / "empty")
    a_project_with_a_bot_module_of_its_own(tmp_path / "project")


def run_without_token(tmp_path: Path) -> None:
    tmp_path.mkdir()
    bot_process_allowed()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "YANDEX_"))}
    clean.update(YANDEX_API_KEY="k", YANDEX_FOLDER_ID="f", PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=clean,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, f"step 1, run without a token: {result.stderr}"
    assert "TELEGRAM_BOT_TOKEN" in result.stderr, "step 1: the line names the token"
    assert len(result.stderr.strip().splitlines()) == 1, f"step 1: one line\n{result.stderr}"
    assert not list(tmp_path.iterdir()), "step 1: nothing may be created before the check"


def a_project_with_a_bot_module_of_its_own(tmp_path: Path) -> None:
    """`bot` is fmbot's package: a project's own `bot` is never imported."""
    tmp_path.mkdir()
    (tmp_path / "bot.py").write_text("raise SystemExit('the project bot.py was imported')\n")
    (tmp_path / "bot").mkdir()  # a package folder of the same name, too
    (tmp_path / "mybot.py").write_text("from bot import App\napp = App.from_env()\n")
    bot_process_allowed()
    fmbot = Path(sys.executable).parent / "fmbot"
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "YANDEX_"))}
    result = subprocess.run(
        [str(fmbot), "migrate", "--app", "mybot:app"], cwd=tmp_path, capture_output=True,
        text=True, timeout=60, env=clean | {"DATABASE_URL": url},
    )
    assert result.returncode == 0, f"step 2, fmbot migrate --app mybot:app: {result.stderr}"
    assert "project bot.py" not in result.stderr, "step 2: the project's bot.py was imported"
    refused = subprocess.run(
        [str(fmbot), "migrate", "--app", "bot:app"], cwd=tmp_path, capture_output=True,
        text=True, timeout=60, env=clean | {"DATABASE_URL": url},
    )
    assert refused.returncode == 2, f"step 2, --app bot:app is refused: {refused.stderr}"
    assert refused.stderr.strip() == (
        "fmbot: --app bot:app: 'bot' is fmbot's own package: name your module or package "
        "something else (e.g. mybot) and run it with --app mybot:app"
    )
