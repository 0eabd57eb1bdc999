"""`bot.plugin.grounding`: grounding: the sources an answer is grounded on (`Source`, `Hit`),
the grounded prompt and its markers, and a turn's `Grounded` record. No Telegram, storage or
conversation."""

from __future__ import annotations

from bot.grounding.prompt import (
    NOT_FOUND_MARKER,
    TOOLS_ONLY,
    Grounding,
    grounded_prompt,
    hiding_citations,
)
from bot.grounding.sources import Hit, Source, label
from bot.grounding.turn import Grounded, grounded_of

__all__ = [
    "NOT_FOUND_MARKER",
    "TOOLS_ONLY",
    "Grounded",
    "Grounding",
    "Hit",
    "Source",
    "grounded_of",
    "grounded_prompt",
    "hiding_citations",
    "label",
]
