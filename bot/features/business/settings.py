"""Chat automation's section of the settings (BUSINESS_*): customers of connected accounts
answered. A leaf: pydantic, the standard library and the settings' parsing helpers only
(bot/features/settings.py composes it as `settings.business`)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from bot.plugin.config import Section


class BusinessSettings(Section):
    """Chat automation (business connections): `replies` auto, approve or off; `takeover`: how
    long the bot stays silent in a chat after its owner writes there; `daily_tokens`: what one
    connection's customers may spend a day, as a whole (0: no limit)."""

    # Chat automation (business connections): a user connects the bot to their own account and
    # it answers their customers on their behalf. auto: answered at once; approve: the owner
    # gets the suggested answer with Send/Discard; off: those updates are not even asked for.
    replies: Literal["auto", "approve", "off"] = Field(default="auto",
                                                       validation_alias="BUSINESS_REPLIES")
    # After the owner writes in a chat, the bot stays silent there for this many minutes.
    takeover_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60,
                                  validation_alias="BUSINESS_TAKEOVER_MINUTES")
    # Tokens a day that all the customers of one connected account may spend, as a whole
    # (each customer also counts against DAILY_TOKEN_LIMIT, like any user); 0 = no limit.
    daily_tokens: int = Field(default=200_000, ge=0, validation_alias="BUSINESS_DAILY_TOKEN_LIMIT")

    @property
    def on(self) -> bool:
        return self.replies != "off"

    @property
    def takeover(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.takeover_minutes)
