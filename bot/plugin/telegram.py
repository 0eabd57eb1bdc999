"""`bot.plugin.telegram`: the Telegram front, as a feature's handlers and services use it:
rendering (Markdown to text and entities, splitting, citations), sending (`Outbox`, its errors
and streams), the handlers' dependencies (`Deps`, `say`, `refuse`, `answer_target`), downloads
and media (audio, photos, albums), the asker's `Principal`, texts in the user's language
(`Translator`, `TEXTS`), a feature's Telegram parts (`FrontParts`,
`TelegramPart`) and the bot's services' lifecycle (`BotService`, `BotRun`). Imported on first
use (PEP 562): most of it brings aiogram."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lazyexports import lazy_exports

_WHERE = {
    "Principal": "bot.telegram.admission",
    "Asked": "bot.telegram.answer_parts",
    "FinalForm": "bot.telegram.answer_parts",
    "Target": "bot.telegram.answer_parts",
    "describe_error": "bot.telegram.answer_parts",
    "Ticket": "bot.telegram.chatqueue",
    "settled_ids": "bot.telegram.delivered",
    "Deps": "bot.telegram.deps",
    "answer_target": "bot.telegram.deps",
    "help_text": "bot.telegram.deps",
    "refuse": "bot.telegram.deps",
    "say": "bot.telegram.deps",
    "speaker": "bot.telegram.deps",
    "thread_of": "bot.telegram.deps",
    "DownloadError": "bot.telegram.downloads",
    "FileTooBigError": "bot.telegram.downloads",
    "TelegramFiles": "bot.telegram.downloads",
    "FrontParts": "bot.telegram.featureparts",
    "TelegramPart": "bot.telegram.featureparts",
    "AddressedToBot": "bot.telegram.handlers.chat",
    "BotRun": "bot.telegram.lifecycle",
    "BotService": "bot.telegram.lifecycle",
    "Album": "bot.telegram.media.albums",
    "AlbumJoiner": "bot.telegram.media.albums",
    "AudioRef": "bot.telegram.media.audio",
    "Hearing": "bot.telegram.media.audio",
    "LongHearing": "bot.telegram.media.audio",
    "audio_of": "bot.telegram.media.audio",
    "ImageUnreadableError": "bot.telegram.media.photos",
    "PhotoPreparer": "bot.telegram.media.photos",
    "image_of": "bot.telegram.media.photos",
    "is_image_document": "bot.telegram.media.photos",
    "Notifier": "bot.telegram.notifier",
    "ChatUnreachableError": "bot.telegram.outbox",
    "Outbox": "bot.telegram.outbox",
    "OutboxClosedError": "bot.telegram.outbox",
    "OutboxError": "bot.telegram.outbox",
    "Pacing": "bot.telegram.outbox",
    "RichFinal": "bot.telegram.outbox",
    "StreamHandle": "bot.telegram.outbox",
    "RateLimiter": "bot.telegram.ratelimit",
    "whole_seconds": "bot.telegram.ratelimit",
    "with_citations": "bot.telegram.render.citations",
    "is_clean": "bot.telegram.render.links",
    "safe_markdown": "bot.telegram.render.links",
    "render_markdown": "bot.telegram.render.markdown",
    "split_rendered": "bot.telegram.render.split",
    "RenderedText": "bot.telegram.render.text",
    "TELEGRAM_TEXT_LIMIT": "bot.telegram.render.text",
    "utf16_len": "bot.telegram.render.text",
    "patiently": "bot.telegram.startup",
    "COMMANDS": "bot.telegram.texts",
    "LANGUAGES": "bot.telegram.texts",
    "TEXTS": "bot.telegram.texts",
    "Translator": "bot.telegram.texts",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:
    from bot.telegram.admission import Principal
    from bot.telegram.answer_parts import Asked, FinalForm, Target, describe_error
    from bot.telegram.chatqueue import Ticket
    from bot.telegram.delivered import settled_ids
    from bot.telegram.deps import Deps, answer_target, help_text, refuse, say, speaker, thread_of
    from bot.telegram.downloads import DownloadError, FileTooBigError, TelegramFiles
    from bot.telegram.featureparts import FrontParts, TelegramPart
    from bot.telegram.handlers.chat import AddressedToBot
    from bot.telegram.lifecycle import BotRun, BotService
    from bot.telegram.media.albums import Album, AlbumJoiner
    from bot.telegram.media.audio import AudioRef, Hearing, LongHearing, audio_of
    from bot.telegram.media.photos import (
        ImageUnreadableError,
        PhotoPreparer,
        image_of,
        is_image_document,
    )
    from bot.telegram.notifier import Notifier
    from bot.telegram.outbox import (
        ChatUnreachableError,
        Outbox,
        OutboxClosedError,
        OutboxError,
        Pacing,
        RichFinal,
        StreamHandle,
    )
    from bot.telegram.ratelimit import RateLimiter, whole_seconds
    from bot.telegram.render.citations import with_citations
    from bot.telegram.render.links import is_clean, safe_markdown
    from bot.telegram.render.markdown import render_markdown
    from bot.telegram.render.split import split_rendered
    from bot.telegram.render.text import TELEGRAM_TEXT_LIMIT, RenderedText, utf16_len
    from bot.telegram.startup import patiently
    from bot.telegram.texts import COMMANDS, LANGUAGES, TEXTS, Translator

__all__ = [
    "COMMANDS",
    "LANGUAGES",
    "TELEGRAM_TEXT_LIMIT",
    "TEXTS",
    "AddressedToBot",
    "Album",
    "AlbumJoiner",
    "Asked",
    "AudioRef",
    "BotRun",
    "BotService",
    "ChatUnreachableError",
    "Deps",
    "DownloadError",
    "FileTooBigError",
    "FinalForm",
    "FrontParts",
    "Hearing",
    "ImageUnreadableError",
    "LongHearing",
    "Notifier",
    "Outbox",
    "OutboxClosedError",
    "OutboxError",
    "Pacing",
    "PhotoPreparer",
    "Principal",
    "RateLimiter",
    "RenderedText",
    "RichFinal",
    "StreamHandle",
    "Target",
    "TelegramFiles",
    "TelegramPart",
    "Ticket",
    "Translator",
    "answer_target",
    "audio_of",
    "describe_error",
    "help_text",
    "image_of",
    "is_clean",
    "is_image_document",
    "patiently",
    "refuse",
    "render_markdown",
    "safe_markdown",
    "say",
    "settled_ids",
    "speaker",
    "split_rendered",
    "thread_of",
    "utf16_len",
    "whole_seconds",
    "with_citations",
]
