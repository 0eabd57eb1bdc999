"""The database each tester starts on: a copy of a template migrated to the heads of fmbot's
and the plugins' migrations, so that a tester's start pays a file copy, not a migration."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# Migrated databases, one per set of migrations (fmbot's and the plugins'), copied for each
# tester: migrating a new SQLite file takes most of a second, copying one a millisecond. Kept
# between processes in a folder of the user's own under the temporary directory, named by a
# digest of the migration files, so only the first run after a migration changes pays it.
_templates: dict[tuple[tuple[str, str], ...], Path] = {}
_template_folder: tempfile.TemporaryDirectory[str] | None = None


async def migrated_copy(target: Path, extra: list[tuple[str, Path]]) -> None:
    """A database at `target` migrated to the head of fmbot's and `extra`'s migrations."""
    key = tuple((name, str(folder)) for name, folder in extra)
    template = _templates.get(key)
    if template is None:
        template = await asyncio.to_thread(_kept_template, extra)
        if template is None or not template.exists():
            template = await _new_template(extra)
        _templates[key] = template
    await asyncio.to_thread(shutil.copyfile, template, target)


async def _new_template(extra: list[tuple[str, Path]]) -> Path:
    """A template migrated now, kept for this process alone."""
    global _template_folder
    from bot.storage.migrations import migrate

    if _template_folder is None:
        _template_folder = tempfile.TemporaryDirectory(prefix="fmbot-templates-")
    template = Path(_template_folder.name) / f"template-{len(_templates)}.db"
    await migrate(f"sqlite+aiosqlite:///{template}", extra=extra)
    return template


def _kept_template(extra: list[tuple[str, Path]]) -> Path | None:
    """The template kept for these migrations (migrated now when there is none yet), or None
    where none can be kept (no folder of our own)."""
    import asyncio as _asyncio

    from bot.storage.migrations import BUILTIN, MIGRATIONS_DIR, migrate

    folder = Path(tempfile.gettempdir()) / f"fmbot-templates-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o077:
            return None  # not ours alone: another user could plant a database there
    except OSError:
        return None
    digest = hashlib.sha256()
    # fmbot's shared history, its features' branches and the App's and plugins' own.
    for name, root in [("fmbot", MIGRATIONS_DIR), *BUILTIN, *extra]:
        digest.update(name.encode())
        for path in sorted(Path(root).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    kept = folder / f"{digest.hexdigest()[:24]}.db"
    if kept.exists():
        return kept
    # Migrated under a name of this process's own, then renamed: a run's workers may migrate
    # side by side, and a reader never sees a half-migrated file.
    fresh = folder / f"{kept.stem}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        _asyncio.run(migrate(f"sqlite+aiosqlite:///{fresh}", extra=extra))
        os.replace(fresh, kept)
    except Exception:
        log.warning("could not keep a migrated template in %s", folder, exc_info=True)
        return None
    finally:
        for leftover in folder.glob(f"{fresh.name}*"):
            leftover.unlink(missing_ok=True)
    return kept
