"""A restart at the migrations' heads is told apart without Alembic (bot/storage/heads.py):
the heads read from the scripts are Alembic's own, a database at them is left alone without
Alembic imported, and one behind them, or scripts the reader cannot be sure of, go to Alembic
as before."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.storage import heads
from bot.storage.database import create_engine
from bot.storage.heads import Unsure, script_heads
from bot.storage.migrations import (
    BUILTIN,
    MIGRATIONS_DIR,
    Branch,
    alembic_config,
    current_revision,
    migrate,
)
from tests.conftest import REPO_ROOT

PLUGIN = REPO_ROOT / "examples" / "helpdesk_plugin" / "fmbot_helpdesk" / "migrations"


@pytest.mark.parametrize("branches", [(), (("helpdesk", PLUGIN),)], ids=["fmbot", "plugin"])
def test_the_heads_read_from_the_scripts_are_alembics(branches: tuple[Branch, ...]) -> None:
    alembics = ScriptDirectory.from_config(alembic_config("sqlite://", branches)).get_heads()
    folders = [MIGRATIONS_DIR / "versions", *(folder for _, folder in (*BUILTIN, *branches))]
    assert script_heads(*folders) == frozenset(alembics)
    # A head per branch: fmbot's features' and the plugin's (the shared history's last
    # revision is where the features' branches start).
    assert {head.rsplit("_", 1)[0] for head in alembics} == {
        name for name, _ in (*BUILTIN, *branches)}


def test_scripts_the_reader_cannot_be_sure_of_go_to_alembic(tmp_path: Path) -> None:
    def script(name: str, body: str) -> None:
        (tmp_path / name).write_text(body, encoding="utf-8")

    script("a.py", 'revision = "a"\ndown_revision = None\n')
    script("b.py", 'revision: str = "b"\ndown_revision: str | None = "a"\n')
    script("__init__.py", "")
    assert script_heads(tmp_path) == {"b"}
    script("c.py", 'revision = "c"\ndown_revision = ("a", "b")\n')  # a merge
    assert script_heads(tmp_path) == {"c"}
    script("d.py", 'revision = "d"\ndown_revision = "c"\nbranch_labels = ("x",)\n')
    assert script_heads(tmp_path) == {"d"}, "a label names a branch, it makes no head"
    script("d.py", 'revision = "d"\ndown_revision = PREVIOUS\n')
    with pytest.raises(Unsure, match="not a literal"):
        script_heads(tmp_path)
    with pytest.raises(Unsure, match="no folder"):
        script_heads(tmp_path / "missing")


def test_a_script_changed_since_it_was_read_is_read_again(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n', encoding="utf-8")
    b = tmp_path / "b.py"
    b.write_text('revision = "b"\ndown_revision = "a"\n', encoding="utf-8")
    assert script_heads(tmp_path) == {"b"}
    assert script_heads(tmp_path) == {"b"}  # remembered
    b.write_text('revision = "b"\ndown_revision = None\n', encoding="utf-8")  # a new root
    assert script_heads(tmp_path) == {"a", "b"}


def test_a_script_the_ast_builder_fails_goes_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CPython 3.11's AST builder can fail a sound script with a SystemError
    (https://github.com/python/cpython/issues/106905; it failed a CI run's start once): the
    reader is not sure, and a start still migrates, through Alembic."""

    def broken(*args: object, **kwargs: object) -> object:
        raise SystemError("AST constructor recursion depth mismatch (before=243, after=296)")

    # The reader's `ast` alone (pytest reads its own failures with the real one).
    failing_ast = types.SimpleNamespace(**{**vars(ast), "parse": broken})

    database = tmp_path / "bot.db"
    url = f"sqlite+aiosqlite:///{database}"
    asyncio.run(migrate(url))
    monkeypatch.setattr(heads, "ast", failing_ast)
    monkeypatch.setattr(heads, "_read", {})  # the scripts read again, not remembered
    with pytest.raises(Unsure, match="recursion depth mismatch"):
        script_heads(MIGRATIONS_DIR / "versions")
    asyncio.run(migrate(url))  # at the heads: Alembic says so, nothing fails
    monkeypatch.undo()
    assert set(str(asyncio.run(current_revision(url))).split(", ")) == script_heads(
        MIGRATIONS_DIR / "versions", *(folder for _, folder in BUILTIN))


PROBE = """
import asyncio, sys
from bot.storage.migrations import migrate
asyncio.run(migrate({url!r}))
print("alembic imported:", "alembic" in sys.modules)
"""


def probe(url: str, tmp_path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(url=url)], cwd=tmp_path, capture_output=True,
        text=True, timeout=120, check=False,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_a_restart_at_the_heads_leaves_alembic_unloaded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    assert probe(url, tmp_path) == "alembic imported: True"  # a new database: migrated
    assert probe(url, tmp_path) == "alembic imported: False"  # a restart: nothing to do


async def test_a_database_behind_the_heads_is_migrated_by_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await migrate(url)
    head = await current_revision(url)
    engine = create_engine(url)
    async with engine.begin() as conn:  # as if the last revision had not been applied yet
        await conn.execute(text("UPDATE alembic_version SET version_num = 'desk_0001' "
                                "WHERE version_num = 'desk_0002'"))
        await conn.execute(text("DROP INDEX ix_desk_cases_opened_at"))
    await engine.dispose()
    await migrate(url)
    assert await current_revision(url) == head
    engine = create_engine(url)
    async with engine.connect() as conn:
        assert (await conn.execute(text(
            "SELECT count(*) FROM sqlite_master WHERE name = 'ix_desk_cases_opened_at'"
        ))).scalar() == 1
    await engine.dispose()
    assert asyncio.get_running_loop()  # ran in the test's loop, no thread left behind
