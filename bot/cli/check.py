"""`fmbot check`: the configuration and every dependency, one line per check on stdout; exit
status 0 only if all pass, else 1 (bot/cli/checks)."""

from __future__ import annotations

import argparse

from bot.cli.factory import Factory
from bot.features.api.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    return [commands.add_parser(
        "check",
        help="check the configuration and every dependency (Telegram, Yandex, database, "
        "Redis, support chat, knowledge base); exit status 0 only if all pass",
    )]


async def run(factory: Factory, args: argparse.Namespace) -> int:
    from bot.cli.checks import run_checks
    from bot.features.api.outcome import summary
    from bot.wiring import tool_environment

    settings = factory.settings
    outcomes = await run_checks(
        settings,
        tools_environ=tool_environment(),
        features=factory.features,
    )
    for outcome in outcomes:
        print(outcome.line())
    failures = sum(not outcome.ok for outcome in outcomes)
    print(summary(outcomes))
    return 1 if failures else 0


command = Command("check", add_parser, run)
