"""Chat automation built from Settings (BUSINESS_REPLIES): customers of connected accounts
answered."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.features.business.replies import BusinessOptions


def build_business(settings: Settings) -> BusinessOptions | None:
    """Chat automation's options; None with BUSINESS_REPLIES=off."""
    if settings.business_replies == "off":
        return None
    from bot.features.business.replies import BusinessOptions

    return BusinessOptions(
        mode=settings.business_replies,
        takeover=dt.timedelta(minutes=settings.business_takeover_minutes),
    )
