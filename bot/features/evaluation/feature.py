"""Simulated customers as one `Feature`: `fmbot eval`, its settings (EVAL_*), and the models
they name offered to the test kit's `BotTester.simulate` (`SimulationModels`), and its case
files' parser offered to the console (`CaseFileCheck`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.evaluation.settings import EvaluationSettings
from bot.plugin.feature import Feature

if TYPE_CHECKING:
    from bot.plugin.commands import Command, CommandContext
    from bot.plugin.context import FeatureContext


def _commands() -> list[Command[CommandContext]]:
    from bot.features.evaluation.cli import command

    return [command]


async def lifespan(ctx: FeatureContext) -> None:
    """The simulated customers' and the judge's models, offered to `fmbot eval` and the test
    kit; the case files' parser, offered to the console (the cases it writes)."""
    await ctx.core()
    from bot.features.evaluation.cases import problem
    from bot.plugin.offers import CaseFileCheck, SimulationModels

    area = ctx.section(EvaluationSettings)
    ctx.offer(SimulationModels(area.customer_model, area.judge_model))
    # The console checks the eval cases it writes with `fmbot eval`'s own parser.
    ctx.offer(CaseFileCheck(problem))


FEATURE = Feature(name="evaluation", settings=EvaluationSettings, commands=_commands,
                  lifespan=lifespan)
