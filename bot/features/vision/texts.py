"""Texts of photos on Telegram, in English and Russian (added to bot.telegram.texts): their
line in /help and in /stats."""

from __future__ import annotations

from bot.plugin.texts import register_texts

VISION_TEXTS: dict[str, dict[str, str]] = {
    "help_takes_photos": {
        "en": "photos and screenshots, with a question in the caption or after them",
        "ru": "фото и скриншоты, с вопросом в подписи или следующим сообщением",
    },
    "stats_photos": {
        "en": "Photos: {photos}.",
        "ru": "Фото: {photos}.",
    },
}

register_texts(VISION_TEXTS)
