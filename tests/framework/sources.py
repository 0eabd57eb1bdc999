"""fmbot's sources copied out of this checkout: what its wheel is built from, and nothing else
(no .git, no tests, no .venv), so a build or an install from the copy cannot lean on the
checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import REPO_ROOT

# What pyproject.toml builds the wheel from (the package, its data and Alembic's folder).
SOURCES = ("bot", "migrations")
FILES = ("pyproject.toml", "README.md")


def copy_sources(dest: Path) -> Path:
    """fmbot's sources in `dest` (created); `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        shutil.copytree(REPO_ROOT / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in FILES:
        shutil.copy(REPO_ROOT / name, dest / name)
    return dest
