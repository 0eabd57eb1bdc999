"""Simulated customers as one `Feature`: `fmbot eval`, its settings (EVAL_*), and the models
they name offered to the test kit's `BotTester.simulate` (`SimulationModels`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.evaluation.settings import EvaluationSettings
from bot.plugin.feature import Feature

if TYPE_CHECKING:
    from bot.plugin.built import Built
    from bot.plugin.commands import Command, CommandContext
    from bot.plugin.feature import CoreParts
    from bot.plugin.ground import Groundwork


def _commands() -> list[Command[CommandContext]]:
    from bot.features.evaluation.cli import command

    return [command]


async def _build(ground: Groundwork, built: Built) -> CoreParts | None:
    from bot.plugin.offers import SimulationModels

    area = ground.settings.section(EvaluationSettings)
    built.add("evaluation", SimulationModels(area.customer_model, area.judge_model))
    return None


FEATURE = Feature(name="evaluation", settings=EvaluationSettings, commands=_commands,
                  build=_build)
