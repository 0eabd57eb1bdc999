"""The features' own `fmbot` commands (the knowledge base's `kb`, the support desk's
`insights`, the tools' `tools`, the evaluation's `eval`): the command line's table
(bot/cli/dispatch.py) takes them from here and names no feature. Apart from the package's
root (which the composition root imports), so that a command's module may build what it
needs through bot/wiring without an import circle."""

from __future__ import annotations

from bot.cli.factory import Command
from bot.features.desk.cli import command as insights
from bot.features.evaluation.cli import command as evaluate
from bot.features.knowledge.cli import command as kb
from bot.features.tools.cli import command as tools

#: In the order `fmbot --help` lists them.
COMMANDS: tuple[Command, ...] = (kb, insights, tools, evaluate)
