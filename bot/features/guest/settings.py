"""Guest mode's section of the settings (GUEST_MODE). A leaf: pydantic only
(bot/features/settings.py composes it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic_settings import BaseSettings


@dataclass(frozen=True, slots=True)
class GuestArea:
    """Guest mode: on answers the bot's @mentions in chats it is not in."""

    on: bool


class GuestSettings(BaseSettings):
    """Guest mode (Bot API 10.0)."""

    # Guest mode (Bot API 10.0): answer when @mentioned in a chat the bot is not a member of
    # (switched on in @BotFather); off: guest queries are not even asked for.
    guest_mode: Literal["on", "off"] = "on"

    @property
    def guest(self) -> GuestArea:
        """Guest mode's settings as one value."""
        return GuestArea(on=self.guest_mode == "on")
