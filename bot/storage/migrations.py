"""The schema's migrations: Alembic's configuration for fmbot's revisions (and a plugin's),
the database's revision, and `migrate`, run at every start (a restart at the heads is left
alone without loading Alembic: heads.py)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
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



def alembic_config(url: str, plugin: tuple[str, Path] | None = None) -> Any:
    """An Alembic Config for `url` pointing at the repository's migrations/ directory; for a
    `plugin` (name, folder), at that folder's revisions, tracked in `alembic_version_<name>`
    (fmbot's env.py runs them, so they get the same engine, batch mode and lock)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # As alembic.ini says: version_locations split on os.pathsep, so a plugin's folder whose
    # path has a space stays one folder (the legacy split, on spaces and commas, is
    # deprecated; https://github.com/sqlalchemy/alembic/issues/842).
    config.set_main_option("path_separator", "os")
    config.attributes["url"] = normalize_url(url)
    if plugin is not None:
        name, folder = plugin
        config.set_main_option("version_locations", str(folder))
        config.attributes["version_table"] = f"alembic_version_{name}"
    return config


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(DEFAULT_URL)).get_current_head()


async def current_revision(url: str) -> str | None:
    """The database's alembic revision, or None when it was never migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_read_revision)
    finally:
        await engine.dispose()


def _read_revision(conn: Connection) -> str | None:
    from sqlalchemy import inspect

    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(rows[0]) if rows else None


async def check_schema_current(url: str) -> str | None:
    """Raise SchemaTooNewError when the database has a revision this code does not know.

    Returns the database's revision (None for a fresh database).
    """
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    revision = await current_revision(url)
    if revision is None:
        return None
    script = ScriptDirectory.from_config(alembic_config(url))
    try:
        script.get_revision(revision)
    except CommandError:
        raise SchemaTooNewError(revision, script.get_current_head()) from None
    return revision


def migrate_blocking(url: str, revision: str = "head") -> None:
    """Upgrade the schema (plain function: Alembic's env.py runs its own event loop)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade_blocking(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


async def migrate(
    url: str, revision: str = "head", *, extra: Sequence[tuple[str, Path]] = ()
) -> None:
    """Refuse a database newer than the code, then upgrade it to `revision` (in a thread);
    then each plugin's own migrations in `extra` (name, folder) to their head. A database
    already at every head (a restart) is left alone without loading Alembic (heads.py)."""
    if revision == "head" and await _at_heads(url, extra):
        return
    await check_schema_current(url)
    await asyncio.to_thread(migrate_blocking, url, revision)
    for plugin in extra:
        await asyncio.to_thread(_upgrade_plugin, url, plugin)


async def _at_heads(url: str, extra: Sequence[tuple[str, Path]]) -> bool:
    from bot.storage.heads import Unsure, at_heads, script_heads

    folders = [("alembic_version", MIGRATIONS_DIR / "versions"),
               *((f"alembic_version_{name}", folder) for name, folder in extra)]
    # The scripts are read here, not in the connection's greenlet (`run_sync`): file work
    # needs no connection, and it keeps the AST builder off a greenlet's stack.
    try:
        heads = [(table, script_heads(versions)) for table, versions in folders]
    except Unsure as exc:
        log.info("migrations: %s; Alembic looks instead", exc)
        return False
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(at_heads, heads)
    finally:
        await engine.dispose()


def _upgrade_plugin(url: str, plugin: tuple[str, Path]) -> None:
    from alembic import command

    command.upgrade(alembic_config(url, plugin), "head")
