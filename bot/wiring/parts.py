"""The Telegram front's own parts the composition root builds from Settings: downloads from
Telegram (photos, voice notes, documents), which the features' parts are built on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.settings import Settings

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.telegram.downloads import TelegramFiles


def telegram_files(settings: Settings, bot: Bot) -> TelegramFiles:
    """Downloads from Telegram (photos, voice notes, documents)."""
    from bot.telegram.downloads import TelegramFiles

    return TelegramFiles(bot, timeout=settings.media_download_timeout)
