"""Rich messages' section of the settings (RICH_MESSAGES). A leaf: pydantic and the settings'
parsing helpers only (bot/features/settings.py composes it as `settings.rich`)."""

from __future__ import annotations

from pydantic import Field

from bot.plugin.config import Section, Switch


class RichSettings(Section):
    """Rich messages (Bot API 10.1): `on` sends answers with tables, headings, math or nested
    lists as rich messages."""

    # Rich messages (Bot API 10.1): an answer with a table, a heading, math or a nested list is
    # sent as a rich message Telegram renders (off: as text, tables as aligned `pre` blocks).
    on: Switch = Field(default=True, validation_alias="RICH_MESSAGES")
