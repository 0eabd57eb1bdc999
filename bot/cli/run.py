"""`fmbot run`: the Telegram bot, by long polling or webhook (bot/wiring/run.py)."""

from __future__ import annotations

import argparse

from bot.cli.factory import Factory
from bot.plugin.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    return [commands.add_parser("run", help="run the Telegram bot (long polling or webhook)")]


async def run(factory: Factory, args: argparse.Namespace) -> int:
    import logging
    import os

    from bot.wiring import run_bot

    # pydantic-settings ignores what it does not read: a misspelt setting would be unset
    # without a word (`fmbot check` fails on it too).
    for item in factory.unknown_variables(os.environ):
        logging.getLogger("bot").warning("%s", item.line())
    await run_bot(factory.settings, factory.system_prompt, app=factory.app)
    return 0


command = Command("run", add_parser, run)
