"""`fmbot run`: the Telegram bot, by long polling or webhook (bot/wiring/run.py)."""

from __future__ import annotations

import argparse

from bot.cli.factory import Factory
from bot.features.api.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    return [commands.add_parser("run", help="run the Telegram bot (long polling or webhook)")]


async def run(factory: Factory, args: argparse.Namespace) -> int:
    from bot.wiring import run_bot

    await run_bot(factory.settings, factory.system_prompt, app=factory.app)
    return 0


command = Command("run", add_parser, run)
