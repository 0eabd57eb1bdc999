"""Rich messages built from their settings (`settings.rich`: RICH_MESSAGES)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.features.rich.settings import RichSettings
    from bot.plugin.telegram import FinalForm


def build_final_forms(area: RichSettings) -> list[FinalForm]:
    """The forms a finished answer may take besides its text: rich messages (tables,
    headings, math and nested lists) unless RICH_MESSAGES=off."""
    if not area.on:
        return []
    from bot.features.rich import RichAnswers

    return [RichAnswers()]
