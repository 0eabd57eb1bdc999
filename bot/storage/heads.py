"""Whether a database is already at the migrations' heads, asked without Alembic.

Every start migrates the database (`migrate`), and on a restart there is nothing to do; yet
Alembic's upgrade imports Alembic, Mako and every revision script to find that out: about
11 MB of memory kept for the life of the process and 0.2 CPU-seconds (bench/results.md). A
revision script names its `revision` and `down_revision` as plain assignments
(script.py.mako), so the heads are read from the scripts' syntax trees (nothing in them is
run) and compared with the version table. Anything unusual (a script whose ids are not
literals, a folder missing) answers "not sure", and Alembic decides as before. (A branch's
label and `depends_on` order the upgrade, never which revisions are heads.)
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection


class Unsure(Exception):
    """The scripts cannot be read without Alembic: let Alembic look."""


def script_heads(*folders: Path) -> frozenset[str]:
    """The head revisions of the scripts in `folders`, one script directory (those no other
    script revises): fmbot's history's and each branch's."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for versions in folders:
        if not versions.is_dir():
            raise Unsure(f"no folder {versions}")
        found = 0
        for path in versions.glob("*.py"):
            ids = _ids(path)
            if ids is None:
                continue  # not a revision script (an __init__.py)
            revision, down = ids
            if revision in revisions:
                raise Unsure(f"revision {revision} twice")
            revisions.add(revision)
            revised.update(down)
            found += 1
        if not found:
            raise Unsure(f"no revision in {versions}")
    return frozenset(revisions - revised)


Ids = tuple[str, tuple[str, ...]] | None

# What each script said, by path, with the size and mtime it had: a process that starts the
# bot again and again (the test kit starts one per test) parses each script once. About a
# fifth of a test bot's start went into these parses.
_read: dict[Path, tuple[tuple[int, int], Ids]] = {}


def _ids(path: Path) -> Ids:
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    known = _read.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    ids = _parse(path)
    _read[path] = (stamp, ids)
    return ids


def _parse(path: Path) -> Ids:
    values: dict[str, object] = {}
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SystemError as exc:
        # CPython 3.11's AST builder can fail a sound script with "AST constructor recursion
        # depth mismatch" (https://github.com/python/cpython/issues/106905; seen here once in
        # a CI run beside a busy loop): not sure, so Alembic decides, as for any odd script.
        raise Unsure(f"{path.name}: {exc}") from None
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                raise Unsure(f"{path.name}: {target.id} is not a literal") from None
    if "revision" not in values:
        return None
    revision, down = values["revision"], values.get("down_revision")
    if not isinstance(revision, str):
        raise Unsure(f"{path.name}: an odd revision id")
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    raise Unsure(f"{path.name}: an odd down_revision")


def at_heads(conn: Connection, heads: frozenset[str], legacy: Sequence[str] = ()) -> bool:
    """Whether `alembic_version` holds exactly `heads` (`script_heads`), and no `legacy`
    version table is left to adopt (bot.storage.migrations.adopt_and_park)."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" not in tables or tables & set(legacy):
        return False
    stored = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return frozenset(str(v) for v in stored) == heads
