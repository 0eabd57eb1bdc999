"""Texts of web search, in English and Russian (added to bot.telegram.texts): its /stats
lines."""

from __future__ import annotations

from bot.plugin.texts import register_texts

WEBSEARCH_TEXTS: dict[str, dict[str, str]] = {
    "stats_web": {
        "en": "Web searches: {searches}.",
        "ru": "Поисков в интернете: {searches}.",
    },
    "stats_web_admin": {
        "en": "Web searches today for all users: {searches}.",
        "ru": "Поисков в интернете за сегодня на всех: {searches}.",
    },
}

register_texts(WEBSEARCH_TEXTS)
