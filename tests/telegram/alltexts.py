"""Every text the bot can say: the core's (bot/telegram/texts.py) and each feature's, which
the modules its `Feature.texts` names register when the composition root imports them
(`load_texts`)."""

from __future__ import annotations

from bot.features.installed import load_texts
from bot.telegram.texts import TEXTS


def every_text() -> dict[str, dict[str, str]]:
    """TEXTS once every feature's texts are added."""
    load_texts()
    return TEXTS
