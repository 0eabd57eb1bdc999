"""Rich answers as one `Feature`: tables, headings, math and nested lists sent as rich
messages (RICH_MESSAGES), the final form of an answer on Telegram."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.rich.settings import RichSettings
from bot.plugin.feature import Feature

if TYPE_CHECKING:
    from bot.plugin.context import FeatureContext


async def lifespan(ctx: FeatureContext) -> None:
    """Rich messages: an answer's final form, on Telegram."""
    if await ctx.telegram() is None:
        return
    from bot.features.rich.build import build_final_forms

    for form in build_final_forms(ctx.section(RichSettings)):
        ctx.final_form(form)


FEATURE = Feature(name="rich", settings=RichSettings, lifespan=lifespan)
