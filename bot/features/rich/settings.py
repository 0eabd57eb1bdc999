"""Rich messages' section of the settings (RICH_MESSAGES). A leaf: pydantic only
(bot/features/settings.py composes it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic_settings import BaseSettings


@dataclass(frozen=True, slots=True)
class RichArea:
    """Rich messages: on sends answers with tables, headings, math or nested lists as rich
    messages."""

    on: bool


class RichSettings(BaseSettings):
    """Rich messages (Bot API 10.1)."""

    # Rich messages (Bot API 10.1): an answer with a table, a heading, math or a nested list is
    # sent as a rich message Telegram renders (off: as text, tables as aligned `pre` blocks).
    rich_messages: Literal["on", "off"] = "on"

    @property
    def rich(self) -> RichArea:
        """Rich messages' settings as one value."""
        return RichArea(on=self.rich_messages == "on")
