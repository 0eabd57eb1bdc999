"""The features' own `fmbot` commands, listed by bot/cli/dispatch.py with fmbot's (the CLI
names no feature)."""

from __future__ import annotations

from bot.cli.factory import Command


def feature_commands() -> list[Command]:
    """Every feature's commands, in the order `fmbot --help` lists them."""
    from bot.features.desk.cli import command as insights

    return [insights]
