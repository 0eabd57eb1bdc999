"""The Telegram front's own parts the composition root builds from Settings: downloads from
Telegram, and photos prepared for the vision model (its image source). The features' parts
are built by their own build modules (bot/features/<name>/build.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.settings import Settings

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.telegram.downloads import TelegramFiles
    from bot.telegram.media.photos import PhotoPreparer


def telegram_files(settings: Settings, bot: Bot) -> TelegramFiles:
    """Downloads from Telegram (photos, voice notes, documents)."""
    from bot.telegram.downloads import TelegramFiles

    return TelegramFiles(bot, timeout=settings.media_download_timeout)


def build_photos(settings: Settings, files: TelegramFiles) -> PhotoPreparer | None:
    """Photos for the vision model (None without VISION_MODEL): its image source too."""
    vision = settings.vision
    if not vision.on:
        return None
    from bot.telegram.media.photos import PhotoPreparer

    return PhotoPreparer(files, max_bytes=int(vision.max_image_mb * 1024 * 1024))
