"""`fmbot migrate`: upgrade the database schema (fmbot's, the App's and its plugins') and exit."""

from __future__ import annotations

import argparse
import logging

from bot.cli.factory import Factory
from bot.plugin.commands import Command, Subcommands

log = logging.getLogger("bot")


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    return [commands.add_parser("migrate", help="upgrade the database schema and exit")]


async def run(factory: Factory, args: argparse.Namespace) -> int:
    from bot.storage.migrations import current_revision

    url = factory.settings.database_url
    await factory.migrate()
    log.info("database %s is at revision %s", safe_url(url), await current_revision(url))
    return 0


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


command = Command("migrate", add_parser, run)
