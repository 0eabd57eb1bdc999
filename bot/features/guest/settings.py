"""Guest mode's section of the settings (GUEST_MODE). A leaf: pydantic and the settings' parsing
helpers only (bot/features/settings.py composes it as `settings.guest`)."""

from __future__ import annotations

from pydantic import Field

from bot.plugin.config import Section, Switch


class GuestSettings(Section):
    """Guest mode (Bot API 10.0): `on` answers the bot's @mentions in chats it is not in."""

    # Guest mode (Bot API 10.0): answer when @mentioned in a chat the bot is not a member of
    # (switched on in @BotFather); off: guest queries are not even asked for.
    on: Switch = Field(default=True, validation_alias="GUEST_MODE")
