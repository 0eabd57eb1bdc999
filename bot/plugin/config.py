"""`bot.plugin.config`: reading a feature's section of the settings: the parsing helpers a
section (bot/features/<name>/settings.py) reads its variables with, and `ConfigError`, a setting
refused with one line per problem. Light (pydantic only): a section is loaded by `from bot
import Settings`, and so by `fmbot --help`."""

from __future__ import annotations

from bot.config.parsing import (
    ConfigError,
    Core,
    Section,
    Switch,
    blank_is_default,
    blank_to,
    raise_all,
    split_names,
    unresolved,
    url_problem,
)

__all__ = [
    "ConfigError",
    "Core",
    "Section",
    "Switch",
    "blank_is_default",
    "blank_to",
    "raise_all",
    "split_names",
    "unresolved",
    "url_problem",
]
