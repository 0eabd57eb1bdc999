"""The support desk's Telegram side: topics, the card, relays (decisions: bot/desk)."""

from __future__ import annotations

from bot.telegram.desk.options import DeskOptions
from bot.telegram.desk.runtime import SupportDesk

__all__ = ["DeskOptions", "SupportDesk"]
