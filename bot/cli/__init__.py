"""The command line, one module per command (run, migrate, chat, record, insights, report,
new, check; the features' own, `kb` and `tools`, live in their folders and are listed by
bot/features/commands.py), each declaring its parser and its body and taking what it needs
from one `Factory` (factory.py); dispatch.py holds the table and runs a line for an App,
entry.py loads the App (`--app`) and is the `fmbot` script's `main`.
"""

from bot.cli.entry import AppLoadError, load_app, main

__all__ = ["AppLoadError", "load_app", "main"]
