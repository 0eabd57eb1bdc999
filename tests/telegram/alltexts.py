"""Every text the bot can say: the core's (bot/telegram/texts.py) and each feature's, which a
feature's texts module adds to them when it is imported (`TEXTS.update(...)`)."""

from __future__ import annotations

import importlib
from pathlib import Path

from bot.telegram.texts import TEXTS

BOT = Path(__file__).resolve().parents[2] / "bot"


def registering_modules() -> list[str]:
    """The modules that add texts (found by their `TEXTS.update(` call)."""
    found = []
    for path in sorted(BOT.rglob("*.py")):
        if "TEXTS.update(" in path.read_text():
            parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
            found.append(".".join(parts))
    return found


def every_text() -> dict[str, dict[str, str]]:
    """TEXTS once every feature's texts are added."""
    for module in registering_modules():
        importlib.import_module(module)
    return TEXTS
