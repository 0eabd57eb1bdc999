"""mkdocs hook: every public name of fmbot (`bot.__all__`) and each of its public members has
a docstring. A missing one is a warning, so `mkdocs build --strict` (the suite runs it) fails.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import griffe

log = logging.getLogger("mkdocs.hooks.docstrings")
ROOT = Path(__file__).resolve().parents[2]


# Classes whose attributes are environment variables, documented in `.env.example` (which
# tests/config/test_env_example.py keeps complete); the reference links there.
ENVIRONMENT_DOCUMENTED = {"Settings"}


def missing_docstrings(root: Path = ROOT) -> list[str]:
    """The public names (and their public members) of the `bot` package under `root` that
    have no docstring."""
    package = griffe.load("bot", search_paths=[str(root)], resolve_aliases=True)
    missing = []
    for name in package.exports or ():
        name = str(name)
        if name.startswith("__"):
            continue
        target: Any = package[name]
        target = target.final_target if target.is_alias else target
        if not target.docstring:
            missing.append(f"bot.{name}")
        if not target.is_class:
            continue
        own = {n: m for n, m in target.members.items() if not m.is_alias}
        # Inherited ones too (griffe gives them as aliases).
        inherited = {n: m.final_target for n, m in target.inherited_members.items()}
        for member_name, member in {**inherited, **own}.items():
            if member_name.startswith("_"):
                continue
            if name in ENVIRONMENT_DOCUMENTED and member.is_attribute:
                continue
            if not member.docstring:
                missing.append(f"bot.{name}.{member_name}")
    return missing


def on_pre_build(config: Any, **kwargs: Any) -> None:
    for name in missing_docstrings():
        log.warning("public name %s has no docstring", name)
