"""Installed-looking plugins for tests: a module and the `.dist-info` pip would write for it
(with its `fmbot.plugins` entry point), in a folder put on the import path."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_plugin(root: Path, name: str, source: str, *, module: str | None = None,
                 attribute: str = "FEATURE") -> Path:
    """`root/<module>.py` holding `source` (with a `FEATURE`, a `bot.plugin.Feature`), and a
    distribution named `fmbot-<name>` declaring the entry point `name = <module>:<attribute>`."""
    module = module or f"fmbot_{name}_plugin"
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"fmbot_{name}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: fmbot-{name}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[fmbot.plugins]\n{name} = {module}:{attribute}\n", encoding="utf-8"
    )
    return root


def write_entry_point(root: Path, name: str, target: str) -> Path:
    """In `root`, the `.dist-info` pip would write for a distribution `fmbot-<name>` whose
    entry point is `name = target` (`module:attribute`, the module found on the import path):
    a plugin's package installed without copying it."""
    info = root / f"fmbot_{name}-0.1.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: fmbot-{name}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[fmbot.plugins]\n{name} = {target}\n",
                                           encoding="utf-8")
    return root


NOTES_MIGRATION = '''
"""The notes plugin's table.

Revision ID: notes_0001
Revises:
Create Date: 2026-11-24 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "notes_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes_plugin_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notes_plugin_notes")
'''
