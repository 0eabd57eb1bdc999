"""Simulated customers as one `Feature`: `fmbot eval` and its settings (EVAL_*)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.api.feature import Feature
from bot.features.evaluation.settings import EvaluationSettings

if TYPE_CHECKING:
    from bot.features.api.commands import Command, CommandContext


def _commands() -> list[Command[CommandContext]]:
    from bot.features.evaluation.cli import command

    return [command]


FEATURE = Feature(name="evaluation", settings=EvaluationSettings, commands=_commands)
