"""A bot's command menu entries (`MenuCommand`) and what Telegram accepts as one
(setMyCommands' BotCommand).

One rule for the App (refused when a command is declared) and for start-up (an entry that
breaks it is left out, so one bad name never costs the rest of the menu).
https://core.telegram.org/bots/api#botcommand
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiogram import Router

_NAME = re.compile(r"[a-z0-9_]{1,32}")
DESCRIPTION_LIMIT = 256


@dataclass(frozen=True, slots=True)
class MenuCommand:
    """A command shown in Telegram's command menu next to fmbot's own."""

    name: str
    """The command without the slash (`ping`)."""
    description: str
    """Its description in English (and every language without its own)."""
    description_ru: str | None = None
    """Its description in Russian (the English one when None)."""


def menu_entry_problem(name: str, description: str) -> str | None:
    """Why Telegram would refuse this menu entry (BOT_COMMAND_INVALID), or None."""
    if not _NAME.fullmatch(name):
        return (
            "a menu command is 1-32 characters of a-z, 0-9 and _ "
            f"(Telegram's rule); {name!r} is not"
        )
    if not description.strip() or len(description) > DESCRIPTION_LIMIT:
        return f"its description must be 1-{DESCRIPTION_LIMIT} characters"
    return None


def commands_of(router: Router) -> list[tuple[str, str]]:
    """(command, first docstring line) of every Command filter in the router and its
    children, for the menu."""
    from aiogram.filters import Command
    from aiogram.types import BotCommand

    found: list[tuple[str, str]] = []
    for each in router.chain_tail:
        for handler in each.message.handlers:
            doc = (inspect.getdoc(handler.callback) or "").strip().splitlines()
            for flt in handler.filters or ():
                command = flt.callback
                if not isinstance(command, Command):
                    continue
                for item in command.commands:
                    if isinstance(item, BotCommand):
                        found.append((item.command, item.description))
                    elif isinstance(item, str):
                        found.append((item.lower(), doc[0] if doc else item))
    return found
