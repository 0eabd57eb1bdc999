"""The support desk's Telegram side: topics, the card, relays, the handlers (decisions:
bot/features/desk/domain)."""

from __future__ import annotations

from bot.features.desk.telegram.options import DeskOptions
from bot.features.desk.telegram.runtime import SupportDesk

__all__ = ["DeskOptions", "SupportDesk"]
