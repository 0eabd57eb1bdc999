"""fmbot's own modules, each parsed once per test process: several architecture checks walk
every module of bot/, and each parse of the package costs about two CPU-seconds. The checks
share one xdist group (`GROUP`), so one worker parses the package once for all of them."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
GROUP = pytest.mark.xdist_group("architecture")


@cache
def tree(path: Path) -> ast.Module:
    """The syntax tree of `path`, a module of bot/ (not to be changed: it is shared)."""
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def modules() -> list[Path]:
    """Every module of bot/, in a stable order."""
    return sorted(BOT.rglob("*.py"))
