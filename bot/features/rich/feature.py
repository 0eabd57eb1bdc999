"""Rich answers as one `Feature`: tables, headings, math and nested lists sent as rich
messages (RICH_MESSAGES), the final form of an answer on Telegram."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.rich.settings import RichSettings
from bot.plugin.feature import Feature, TelegramParts

if TYPE_CHECKING:
    from bot.plugin.built import Built
    from bot.plugin.ground import TelegramGround


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts:
    from bot.features.rich.build import build_final_forms

    area = front.ground.settings.section(RichSettings)
    return TelegramParts(final_forms=build_final_forms(area))


FEATURE = Feature(name="rich", settings=RichSettings, on_telegram=_on_telegram)
