"""Chat automation's section of the settings (BUSINESS_*): customers of connected accounts
answered. A leaf: pydantic and the standard library only (bot/features/settings.py composes
it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings


@dataclass(frozen=True, slots=True)
class BusinessArea:
    """Chat automation: `replies` auto, approve or off; `takeover`: how long the bot stays
    silent in a chat after its owner writes there; `daily_tokens`: what one connection's
    customers may spend a day, as a whole (0: no limit)."""

    replies: Literal["auto", "approve", "off"]
    takeover: dt.timedelta
    daily_tokens: int = 0

    @property
    def on(self) -> bool:
        return self.replies != "off"


class BusinessSettings(BaseSettings):
    """Chat automation (business connections)."""

    # Chat automation (business connections): a user connects the bot to their own account and
    # it answers their customers on their behalf. auto: answered at once; approve: the owner
    # gets the suggested answer with Send/Discard; off: those updates are not even asked for.
    business_replies: Literal["auto", "approve", "off"] = "auto"
    # After the owner writes in a chat, the bot stays silent there for this many minutes.
    business_takeover_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    # Tokens a day that all the customers of one connected account may spend, as a whole
    # (each customer also counts against DAILY_TOKEN_LIMIT, like any user); 0 = no limit.
    business_daily_token_limit: int = Field(default=200_000, ge=0)

    @property
    def business(self) -> BusinessArea:
        """Chat automation's settings as one value."""
        return BusinessArea(replies=self.business_replies,
                            takeover=dt.timedelta(minutes=self.business_takeover_minutes),
                            daily_tokens=self.business_daily_token_limit)
