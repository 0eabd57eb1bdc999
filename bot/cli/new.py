"""`fmbot new NAME [--template ...]`: a new bot project (bot/scaffold). The command line
(entry.py) runs it before any App or settings; declared here so that `--help` lists it."""

from __future__ import annotations

import argparse

from bot.cli.factory import Factory
from bot.plugin.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    new = commands.add_parser("new", help="create a new bot project: fmbot new NAME "
                              "[--template chat|support|helpdesk] [--fmbot SPEC]")
    new.add_argument("name", metavar="NAME")
    new.add_argument("--template", choices=("chat", "support", "helpdesk"), default="chat")
    new.add_argument("--fmbot", metavar="SPEC", default="",
                     help="what the project depends on (a requirement, a URL or a folder)")
    return [new]


async def run(factory: Factory, args: argparse.Namespace) -> int:
    from bot.scaffold import main as new_project

    return new_project([args.name, "--template", args.template, "--fmbot", args.fmbot])


command = Command("new", add_parser, run)
