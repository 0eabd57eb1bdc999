"""The schema's migrations: Alembic's configuration for fmbot's shared history and each
feature's own branch (one script directory, several bases, one version table), the database's
revisions, and `migrate`, run at every start (a restart at the heads is left alone without
loading Alembic: heads.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.storage.database import DEFAULT_URL, create_engine, normalize_url

log = logging.getLogger(__name__)


def _migrations_dir() -> Path:
    """Alembic's folder: beside the package in a checkout (and an editable install); from a
    wheel, where pip put its data files (`share/fmbot/migrations`, pyproject.toml)."""
    checkout = Path(__file__).resolve().parent.parent.parent / "migrations"
    if (checkout / "env.py").is_file():
        return checkout
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        files = distribution("fmbot").files or []
        found = next(f for f in files if str(f).endswith("share/fmbot/migrations/env.py"))
        return Path(str(distribution("fmbot").locate_file(found))).resolve().parent
    except (PackageNotFoundError, StopIteration):
        return Path(sys.prefix) / "share" / "fmbot" / "migrations"


MIGRATIONS_DIR = _migrations_dir()


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer fmbot than this one."""

    def __init__(self, revision: str, head: str | None) -> None:
        self.revision = revision
        self.head = head
        super().__init__(
            f"the database is at schema revision {revision!r}, which this version of fmbot "
            f"does not know (its newest is {head!r}); it was upgraded by a newer fmbot. "
            "Run the newer version, or restore a backup made before the upgrade."
        )



#: A feature's own history: its name (the branch's label, the prefix of its revision ids:
#: `helpdesk_0001`) and the folder of its revision scripts.
Branch = tuple[str, Path]

#: fmbot's own features' branches: each keeps its revisions in its folder's `migrations/`
#: (`bot/features/<name>/migrations`, ids `<name>_0001`...), found there by the folder, as
#: this layer names no feature; always installed, so always upgraded with the shared history.
BUILTIN: tuple[Branch, ...] = tuple(sorted(
    (folder.parent.name, folder)
    for folder in (Path(__file__).resolve().parent.parent / "features").glob("*/migrations")
    if folder.is_dir()))

#: The revisions of fmbot's shared history that became its features' own (fmbot 0.3's
#: development: 0028-0035), in the order they were applied: a database at one of them has
#: every one before it, and its row is read (and, at the next upgrade, rewritten) as each
#: branch's last revision applied (`relocated`).
RELOCATED: tuple[tuple[str, str], ...] = (
    ("0028", "console_0001"), ("0029", "desk_0001"), ("0030", "identity_0001"),
    ("0031", "knowledge_0001"), ("0032", "knowledge_0002"), ("0033", "console_0002"),
    ("0034", "tools_0001"), ("0035", "desk_0002"),
)


def relocated(rows: Sequence[str]) -> tuple[str, ...]:
    """`rows` of `alembic_version` with a revision of the shared history that moved into a
    feature's branch (`RELOCATED`) replaced by what it stands for, sorted: each branch's last
    revision applied (the branches start from 0027, which they imply)."""
    old = [old for old, _ in RELOCATED]
    found = [row for row in rows if row in old]
    if not found:
        return tuple(sorted(rows))
    applied = RELOCATED[:max(old.index(row) for row in found) + 1]
    last: dict[str, str] = {}
    for _, new in applied:  # each branch's last revision applied
        last[new.rsplit("_", 1)[0]] = new
    kept = [row for row in rows if row not in old]
    return tuple(sorted({*kept, *last.values()}))


def _all(branches: Sequence[Branch]) -> list[Branch]:
    """fmbot's own features' branches, then `branches` (the App's, its plugins')."""
    names = {name for name, _ in branches}
    return [*(b for b in BUILTIN if b[0] not in names), *branches]


#: Where the revisions of a feature not installed now are kept (a plugin taken out of
#: FMBOT_PLUGINS): Alembic refuses a version row it has no script for, and the feature's tables
#: and its place in its history stay for when it is installed again.
PARKED_TABLE = "alembic_version_parked"


def alembic_config(url: str, branches: Sequence[Branch] = ()) -> Any:
    """An Alembic Config for `url`: fmbot's revisions (migrations/versions, the shared
    history), fmbot's own features' branches and `branches` (the App's, its plugins'), one
    script directory with several bases, tracked in the one table `alembic_version` (a row
    per head) and upgraded together."""
    from alembic.config import Config

    branches = _all(branches)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # As alembic.ini says: version_locations split on os.pathsep, so a plugin's folder whose
    # path has a space stays one folder (the legacy split, on spaces and commas, is
    # deprecated; https://github.com/sqlalchemy/alembic/issues/842).
    config.set_main_option("path_separator", "os")
    folders = [MIGRATIONS_DIR / "versions", *(Path(folder) for _, folder in branches)]
    # ConfigParser interpolates `%`: a folder's path is taken as written.
    config.set_main_option(
        "version_locations", os.pathsep.join(str(f).replace("%", "%%") for f in folders))
    config.attributes["url"] = normalize_url(url)
    config.attributes["branches"] = [name for name, _ in branches]
    return config


def head_revision() -> str:
    """fmbot's heads: its shared history's and each of its own features' branch's, sorted and
    comma-joined, as `current_revision` says a database migrated by fmbot alone."""
    return ", ".join(head_revisions())


def head_revisions(branches: Sequence[Branch] = ()) -> tuple[str, ...]:
    """Every head: the shared history's and each branch's, sorted."""
    from alembic.script import ScriptDirectory

    return tuple(sorted(ScriptDirectory.from_config(
        alembic_config(DEFAULT_URL, branches)).get_heads()))


async def current_revision(url: str) -> str | None:
    """The database's revision (its heads, comma-separated, when features keep branches of
    their own), or None when it was never migrated."""
    revisions = await current_revisions(url)
    return ", ".join(revisions) if revisions else None


async def current_revisions(url: str) -> tuple[str, ...]:
    """The database's heads (the rows of `alembic_version`), sorted: none when it was never
    migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_read_revisions)
    finally:
        await engine.dispose()


def _read_revisions(conn: Connection) -> tuple[str, ...]:
    from sqlalchemy import inspect

    if not inspect(conn).has_table("alembic_version"):
        return ()
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return relocated([str(row) for row in rows])


def sort_rows(
    rows: Sequence[str], known: Collection[str], labels: Collection[str]
) -> tuple[list[str], list[str]]:
    """The version rows this code has no script for, as (too new, parked): a row of fmbot's
    history (a number, or any unknown row when none of fmbot's history is known) or of an
    installed feature's branch (`<label>_...`) means a newer version migrated the database;
    any other is the branch of a feature not installed now, kept aside (PARKED_TABLE) until
    it is."""
    def branch(row: str) -> bool:
        return any(row.startswith(f"{label}_") for label in labels)

    def fmbots(row: str) -> bool:  # its shared history's, or one of its own features'
        return row.isdigit() or any(row.startswith(f"{name}_") for name, _ in BUILTIN)

    # fmbot's own history keeps a row: without a known one, the unknown row is its newer one.
    has_core = any(row in known and fmbots(row) for row in rows)
    too_new, parked = [], []
    for row in rows:
        if row in known:
            continue
        if row.isdigit() or branch(row) or not has_core:
            too_new.append(row)
        else:
            parked.append(row)
    return too_new, parked


async def check_schema_current(url: str, branches: Sequence[Branch] = ()) -> str | None:
    """Raise SchemaTooNewError when the database has a revision of fmbot's history or of an
    installed feature's branch that this code does not know.

    Returns the database's revision (`current_revision`; None for a fresh database).
    """
    from alembic.script import ScriptDirectory

    revisions = await current_revisions(url)
    if not revisions:
        return None
    script = ScriptDirectory.from_config(alembic_config(url, branches))
    known = {s.revision for s in script.walk_revisions()}
    too_new, _ = sort_rows(revisions, known, [name for name, _ in _all(branches)])
    if too_new:
        raise SchemaTooNewError(too_new[0], ", ".join(sorted(script.get_heads())))
    return ", ".join(revisions)


def migrate_blocking(url: str, revision: str = "heads", branches: Sequence[Branch] = ()) -> None:
    """Upgrade the schema (plain function: Alembic's env.py runs its own event loop):
    to every head, fmbot's and each branch's, unless a revision is named."""
    from alembic import command

    command.upgrade(alembic_config(url, branches), "heads" if revision == "head" else revision)


def downgrade_blocking(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


async def migrate(url: str, revision: str = "heads", *, extra: Sequence[Branch] = ()) -> None:
    """Refuse a database newer than the code, then upgrade it (in a thread) to `revision`:
    by default every head, fmbot's history and the features' own branches in `extra`
    together. A database already at every head (a restart) is left alone without loading
    Alembic (heads.py)."""
    if revision in ("head", "heads") and await _at_heads(url, extra):
        return
    await check_schema_current(url, extra)
    await asyncio.to_thread(migrate_blocking, url, revision, extra)


async def _at_heads(url: str, branches: Sequence[Branch]) -> bool:
    from bot.storage.heads import Unsure, at_heads, script_heads

    # The scripts are read here, not in the connection's greenlet (`run_sync`): file work
    # needs no connection, and it keeps the AST builder off a greenlet's stack.
    branches = _all(branches)
    try:
        heads = script_heads(MIGRATIONS_DIR / "versions", *(folder for _, folder in branches))
    except Unsure as exc:
        log.info("migrations: %s; Alembic looks instead", exc)
        return False
    legacy = [f"alembic_version_{name}" for name, _ in branches]
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(at_heads, heads, legacy)
    finally:
        await engine.dispose()


def adopt_and_park(conn: Connection, known: Collection[str], labels: Collection[str]) -> None:
    """Before an upgrade, in its transaction and under its lock (migrations/env.py): a
    branch's rows from where they were kept come into `alembic_version`, and rows no script
    here knows go aside.

    - A feature's own version table of fmbot 0.3 and before (`alembic_version_<name>`) is
      adopted: its rows join `alembic_version`, and the table goes.
    - Rows parked when the feature was not installed come back once it is.
    - Rows of a feature not installed now are parked (`sort_rows`).
    """
    from sqlalchemy import inspect

    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:  # shared revisions that moved into features' branches
        rows = [str(r) for r in conn.execute(
            text("SELECT version_num FROM alembic_version")).scalars()]
        now = relocated(rows)
        if sorted(rows) != list(now):
            conn.execute(text("DELETE FROM alembic_version"))
            for row in now:
                conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                             {"v": row})
            log.info("migrations: revisions %s are fmbot's features' own now: %s",
                     ", ".join(rows), ", ".join(now))
    moved: list[str] = []
    for label in labels:
        legacy = f"alembic_version_{label}"
        if legacy in tables:
            moved += [str(r) for r in conn.execute(
                text(f'SELECT version_num FROM "{legacy}"')).scalars()]
            conn.execute(text(f'DROP TABLE "{legacy}"'))
            log.info("migrations: %s's revisions join alembic_version", label)
    if PARKED_TABLE in tables:
        parked = [str(r) for r in conn.execute(
            text(f"SELECT version_num FROM {PARKED_TABLE}")).scalars()]
        back = [row for row in parked if row in known]
        for row in back:
            conn.execute(text(f"DELETE FROM {PARKED_TABLE} WHERE version_num = :v"), {"v": row})
        moved += back
    if moved and "alembic_version" not in tables:
        # Alembic's own table, as it would create it (a plugin's history adopted first).
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                          "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"))
        tables.add("alembic_version")
    for row in moved:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": row})
    if "alembic_version" not in tables:
        return
    rows = [str(r) for r in conn.execute(
        text("SELECT version_num FROM alembic_version")).scalars()]
    _, aside = sort_rows(rows, known, labels)
    if not aside:
        return
    if PARKED_TABLE not in tables:
        conn.execute(text(f"CREATE TABLE {PARKED_TABLE} (version_num VARCHAR(32) NOT NULL "
                          "PRIMARY KEY)"))
    for row in aside:
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": row})
        conn.execute(text(f"INSERT INTO {PARKED_TABLE} (version_num) VALUES (:v)"), {"v": row})
        log.warning("migrations: revision %s belongs to a feature not installed now; kept "
                    "aside (%s) with its tables until it is installed again", row, PARKED_TABLE)
