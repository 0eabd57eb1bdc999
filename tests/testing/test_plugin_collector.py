"""fmbot's pytest plugin pauses the garbage collector while a suite collects and gives it back
with what the collection imported frozen; `fmbot_collect_paused = false` leaves it alone.
Each case is a small suite run by a fresh pytest, as a plugin author runs theirs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = """
import gc

AT_IMPORT = gc.isenabled()
"""

TESTS = """
import gc

import conftest


def test_the_collector_while_collecting_and_after():
    print(f"at import {conftest.AT_IMPORT}, now {gc.isenabled()}, "
          f"frozen {gc.get_freeze_count() > 0}")
"""


def _run(folder: Path, ini: str) -> str:
    (folder / "pytest.ini").write_text(f"[pytest]\n{ini}\n", encoding="utf-8")
    (folder / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (folder / "test_gc.py").write_text(TESTS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "test_gc.py"],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_collected_with_the_collector_paused_then_frozen(tmp_path: Path) -> None:
    said = _run(tmp_path, "")
    assert "at import False, now True, frozen True" in said, said


@pytest.mark.slow
def test_the_ini_option_leaves_the_collector_alone(tmp_path: Path) -> None:
    said = _run(tmp_path, "fmbot_collect_paused = false")
    assert "at import True, now True, frozen False" in said, said
