"""`fmbot check`: the configuration and every dependency, one line per check on stdout; exit
status 0 only if all pass, else 1 (bot/cli/checks)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.factory import Factory
from bot.plugin.commands import Command, Subcommands

if TYPE_CHECKING:
    from bot.plugin.outcome import Outcome


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    return [commands.add_parser(
        "check",
        help="check the configuration and every dependency (Telegram, Yandex, database, "
        "Redis, support chat, knowledge base); exit status 0 only if all pass",
    )]


async def run(factory: Factory, args: argparse.Namespace) -> int:
    from bot.cli.checks import run_checks
    from bot.plugin.outcome import summary
    from bot.wiring import tool_environment

    settings = factory.settings
    outcomes = await run_checks(
        settings,
        tools_environ=tool_environment(),
        features=factory.features,
    )
    outcomes = [*_unknown_outcomes(factory), *outcomes]
    for outcome in outcomes:
        print(outcome.line())
    failures = sum(not outcome.ok for outcome in outcomes)
    print(summary(outcomes))
    return 1 if failures else 0


def _unknown_outcomes(factory: Factory) -> list[Outcome]:
    """A near miss of a setting fails (the setting it meant is silently unset); any other key
    `.env` holds that nothing reads is named on a passing line (the deployment's own code may
    read it)."""
    import os

    from bot.plugin.outcome import failed, passed

    found = factory.unknown_variables(os.environ)
    lines = [failed("variables", item.line(), f"rename {item.name} to {item.meant}, or remove "
                    "it") for item in found if item.meant is not None]
    lines += [passed("variables", item.line()) for item in found if item.meant is None]
    return lines


command = Command("check", add_parser, run)
