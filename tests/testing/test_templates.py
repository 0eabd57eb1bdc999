"""The migrated template database a tester copies (bot/testing/tester.py): kept between
processes in a folder of the user's own, named by a digest of the migrations, so only the
first run after a migration changes pays for migrating."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest

from bot.testing.templates import _kept_template


def test_a_template_is_migrated_once_and_kept(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    first = _kept_template([])
    assert first is not None
    assert first.parent.stat().st_mode & 0o777 == 0o700
    made = first.stat().st_mtime_ns
    assert _kept_template([]) == first
    assert first.stat().st_mtime_ns == made, "not migrated again"
    assert [p.name for p in first.parent.iterdir()] == [first.name], "no leftovers"
    with sqlite3.connect(first) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] >= 1


def test_a_folder_others_can_write_to_is_not_used(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    shared = tmp_path / f"fmbot-templates-{os.getuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    assert _kept_template([]) is None
    assert list(shared.iterdir()) == []
